"""A data set's image shape and class count from its headers alone — what the plan needs.

`bench run --dry-run` plans each model at the shape of the data it will train on, so it reads
only what says that shape: nothing for `synthetic` (the model's own shape and classes), fixed
facts for `mnist5k` (28×28×1, 10) and `cifar10:` (32×32×3, 10), the 16-byte header of an IDX
image file and the bytes of its label file for `mnist:` (any rows × columns; classes = largest
label + 1), and the class sub-folders of a `folder:` data set (its images take the model's size).
No pixels are decoded and NumPy is not imported.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

from bench.data.source import DatasetError, list_class_dirs


@dataclass(frozen=True, slots=True)
class Header:
    """`shape` (H, W, C) of the images as stored, None where they take the model's size;
    `classes`, None where the model's own count applies (synthetic)."""

    shape: tuple[int, int, int] | None
    classes: int | None


def header(spec: str) -> Header:
    """The header facts of data set `spec` (see the module docstring)."""
    from bench.data.load import parse

    scheme, path = parse(spec)
    if scheme == "synthetic":
        return Header(None, None)
    if scheme == "mnist5k":
        return Header((28, 28, 1), 10)
    if scheme == "cifar10":
        return Header((32, 32, 3), 10)
    assert path is not None
    if scheme == "folder":
        return Header(None, len(list_class_dirs(path)))
    return _mnist_header(path)


def _mnist_header(folder: Path) -> Header:
    from bench.data.mnist import idx_names

    images = _first(folder, idx_names("train", "images"))
    labels = _first(folder, idx_names("train", "labels"))
    if images is None or labels is None:
        raise DatasetError(
            f"{folder} holds no train-images-idx3-ubyte and train-labels-idx1-ubyte (raw or .gz)"
        )
    head = _read(images, 16)
    if len(head) < 16 or int.from_bytes(head[:4], "big") != 2051:
        raise DatasetError(f"{images} is not an IDX image file (magic number 2051 expected)")
    rows, cols = int.from_bytes(head[8:12], "big"), int.from_bytes(head[12:16], "big")
    label_bytes = _read(labels, None)[8:]
    if not label_bytes:
        raise DatasetError(f"{labels} holds no labels")
    return Header((rows, cols, 1), max(label_bytes) + 1)


def _first(folder: Path, names: list[str]) -> Path | None:
    return next((folder / n for n in names if (folder / n).is_file()), None)


def _read(path: Path, size: int | None) -> bytes:
    """The first `size` bytes (all if None), decompressed when the file is gzipped."""
    try:
        with open(path, "rb") as f:
            gzipped = f.read(2) == b"\x1f\x8b"
        with gzip.open(path, "rb") if gzipped else open(path, "rb") as f:
            return f.read() if size is None else f.read(size)
    except (OSError, EOFError) as exc:
        raise DatasetError(f"cannot read {path}: {exc}") from None
