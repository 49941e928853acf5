"""Image-folder reader (`folder:PATH`): one sub-folder per class, JPEG/PNG files, via Pillow.

Layout, as Microsoft's cats-vs-dogs `PetImages/` ships it:

    PATH/Cat/0.jpg, PATH/Cat/1.jpg, …   → label 0
    PATH/Dog/0.jpg, …                   → label 1

Class folders are the visible sub-folders of PATH in sorted name order (hidden ones, such as
`.ipynb_checkpoints`, and files directly in PATH are ignored); their files are read in sorted
name order, sub-folders inside a class folder ignored. Each file is decoded with Pillow, allowed
only the JPEG and PNG decoders, converted to grey (`L`, 1 channel) or `RGB` (3 channels), and
resized to the model's H×W with bilinear filtering (JPEGs are first decoded at a reduced DCT
scale no smaller than H×W — Pillow's `draft` — which is much faster on large photos). No EXIF
rotation is applied, as neither framework's own loaders apply one. A file that is not a readable
JPEG or PNG (truncated, empty, a `.txt`, `Thumbs.db`, a GIF) is skipped and counted; a class
folder with no readable image, or fewer than two class folders, is a `DatasetError`.
"""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from pathlib import Path
from types import ModuleType

import numpy as np

from bench.data.source import DatasetError, Source, list_class_dirs

IMAGE_FORMATS = ("JPEG", "PNG")
MODES = {1: "L", 3: "RGB"}


def read_folder(root: Path, shape: tuple[int, int, int]) -> Source:
    """Decode every image under `root`'s class folders to `shape` (H, W, C) uint8."""
    height, width, channels = shape
    if channels not in MODES:
        raise DatasetError(
            f"{root}: folder images are converted to 1 (grey) or 3 (RGB) channels, but the "
            f"model takes {channels}"
        )
    image_module = _pillow()
    digest = hashlib.sha256()
    images: list[np.ndarray] = []
    labels: list[int] = []
    skipped = files_read = 0
    class_dirs = list_class_dirs(root)
    for label, folder in enumerate(class_dirs):
        names = _file_names(folder)
        before = len(images)
        for name in names:
            try:
                raw = (folder / name).read_bytes()
            except OSError:
                skipped += 1
                continue
            files_read += 1
            key = f"{folder.name}/{name}".encode("utf-8", "surrogateescape")
            digest.update(key + b"\0" + len(raw).to_bytes(8, "big"))
            digest.update(raw)
            pixels = _decode(image_module, raw, (width, height), MODES[channels])
            if pixels is None:
                skipped += 1
            else:
                images.append(pixels)
                labels.append(label)
        if len(images) == before:
            raise DatasetError(
                f"class folder {folder} holds no readable JPEG or PNG image ({len(names)} "
                "files, all skipped); remove it or add images"
            )
    return Source(
        images=np.stack(images).reshape(-1, height, width, channels),
        labels=np.asarray(labels, dtype=np.int64),
        path=root,
        files_read=files_read,
        checksum=digest.hexdigest(),
        skipped=skipped,
        class_names=tuple(folder.name for folder in class_dirs),
    )


def _pillow() -> ModuleType:
    try:
        from PIL import Image
    except ImportError:
        raise DatasetError(
            "folder: data sets are decoded with Pillow, which is not installed: pip install "
            "pillow (or pip install -e '.[data]')"
        ) from None
    return Image


def _file_names(folder: Path) -> list[str]:
    try:
        with os.scandir(folder) as entries:
            names = sorted(e.name for e in entries if e.is_file())
    except OSError as exc:
        raise DatasetError(f"cannot list class folder {folder}: {exc.strerror or exc}") from None
    if not names:
        raise DatasetError(f"class folder {folder} is empty; expected JPEG or PNG files")
    return names


def _decode(
    image_module: ModuleType, raw: bytes, size: tuple[int, int], mode: str
) -> np.ndarray | None:
    """`raw` as a (H, W, C) uint8 array of `size` (W, H) and `mode`, or None if unreadable."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # EXIF and palette-transparency chatter
            with image_module.open(io.BytesIO(raw), formats=IMAGE_FORMATS) as image:
                image.draft(mode, size)
                resized = image.convert(mode).resize(size, image_module.Resampling.BILINEAR)
            pixels = np.asarray(resized, dtype=np.uint8)
    except Exception:  # Pillow signals a bad file with many exception types: each is a skip
        return None
    return pixels.reshape(size[1], size[0], -1)
