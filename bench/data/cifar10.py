"""CIFAR-10 reader (`cifar10:PATH`): the binary version, or the Python version through a jail.

Binary version (`cifar-10-batches-bin/`): `data_batch_1.bin` … `data_batch_5.bin`, `test_batch.bin`,
each a run of 3,073-byte records: one label byte (0..9), then 1,024 red, 1,024 green and 1,024
blue bytes, each plane 32 rows of 32.

Python version (`cifar-10-batches-py/`): `data_batch_1` … `data_batch_5`, `test_batch`, each a
Python 2 pickle of a dict whose b"data" is an N×3072 uint8 array (same plane layout) and b"labels"
a list of N ints. Pickles can run any code, so they are read only by `_CifarUnpickler`, whose
`find_class` hands out exactly the three globals those files name — numpy's `_reconstruct`,
`ndarray` and `dtype` (as `numpy.core.multiarray._reconstruct`, or `numpy._core.multiarray.…` for
files re-pickled by NumPy 2) — and refuses every other global before anything is called.

PATH is the folder holding the batches, or a folder holding `cifar-10-batches-bin/` or
`cifar-10-batches-py/` (as the tarballs extract). The batches present are pooled, training
batches first; the binary version wins when a folder holds both.
"""

from __future__ import annotations

import functools
import hashlib
import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from bench.data.source import DatasetError, Source, read_file

RECORD = 1 + 3072
CLASS_NAMES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)
SUBFOLDERS = ("cifar-10-batches-bin", "cifar-10-batches-py")


def read_cifar10(folder: Path) -> Source:
    """Every CIFAR-10 batch found in `folder`, pooled, as 32×32×3 uint8 images."""
    files, binary = _locate(folder)
    digest = hashlib.sha256()
    raw: dict[Path, bytes] = {}
    for path in sorted(files):
        raw[path] = read_file(path)
        digest.update(raw[path])
    parts = [(_parse_bin if binary else _parse_pickle)(path, raw[path]) for path in files]
    images = np.concatenate([x for x, _ in parts]).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return Source(
        images=images,  # a transposed view; load() copies only the images it keeps
        labels=np.concatenate([y for _, y in parts]).astype(np.int64),
        path=folder,
        files_read=len(files),
        checksum=digest.hexdigest(),
        class_names=CLASS_NAMES,
    )


def _locate(folder: Path) -> tuple[list[Path], bool]:
    for where in (folder, *(folder / sub for sub in SUBFOLDERS)):
        for binary, suffix in ((True, ".bin"), (False, "")):
            files = [where / (b + suffix) for b in BATCHES if (where / (b + suffix)).is_file()]
            if files:
                return files, binary
    raise DatasetError(
        f"{folder} holds no CIFAR-10 batches: expected data_batch_1.bin … data_batch_5.bin and "
        "test_batch.bin (binary version) or data_batch_1 … data_batch_5 and test_batch (Python "
        "version), in the folder itself or in cifar-10-batches-bin/ or cifar-10-batches-py/"
    )


def _parse_bin(path: Path, raw: bytes) -> tuple[np.ndarray, np.ndarray]:
    if not raw or len(raw) % RECORD:
        raise DatasetError(
            f"{path} is {len(raw)} bytes, not a whole number of 3,073-byte CIFAR-10 records "
            "(1 label byte + 3,072 pixel bytes): truncated, or not the CIFAR-10 binary version "
            "(CIFAR-100 records have 2 label bytes)"
        )
    records = np.frombuffer(raw, dtype=np.uint8).reshape(-1, RECORD)
    labels = records[:, 0]
    _check_labels(path, labels)
    return records[:, 1:], labels


def _check_labels(path: Path, labels: np.ndarray) -> None:
    bad = np.flatnonzero((labels < 0) | (labels > 9))
    if len(bad):
        raise DatasetError(
            f"{path}: record {int(bad[0])} has label {int(labels[bad[0]])}, but CIFAR-10 labels "
            "are 0..9; the file is damaged or not CIFAR-10"
        )


class RefusedGlobal(pickle.UnpicklingError):
    """A pickle asked for a global outside the CIFAR-10 allow-list."""


@functools.cache
def _allowed() -> dict[tuple[str, str], Any]:
    try:
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # NumPy < 1.26 has no numpy._core
        from numpy.core.multiarray import _reconstruct
    return {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }


class _CifarUnpickler(pickle.Unpickler):
    """Unpickles plain data and NumPy arrays; every other global is refused, never imported."""

    def find_class(self, module: str, name: str) -> Any:
        found = _allowed().get((module, name))
        if found is None:
            raise RefusedGlobal(f"{module}.{name}")
        return found


def _parse_pickle(path: Path, raw: bytes) -> tuple[np.ndarray, np.ndarray]:
    try:
        batch = _CifarUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except RefusedGlobal as exc:
        raise DatasetError(
            f"{path} was refused: the pickle asks for {exc}, which a CIFAR-10 batch never "
            "needs (only numpy arrays, dicts, lists, bytes and ints); it was not unpickled. "
            "Use the binary version, or a pickle from the official CIFAR-10 archive"
        ) from None
    except Exception as exc:  # a damaged pickle can fail in many ways; none is a traceback
        raise DatasetError(
            f"{path} is not a readable CIFAR-10 Python batch ({type(exc).__name__}: {exc}); "
            "truncated or damaged"
        ) from None
    return _validate(path, batch)


def _validate(path: Path, batch: Any) -> tuple[np.ndarray, np.ndarray]:
    expected = "expected a dict with b'data' (an N×3072 uint8 array) and b'labels' (N ints 0..9)"
    if not isinstance(batch, dict):
        raise DatasetError(f"{path} holds {_what(batch)}; {expected}")
    data = batch.get(b"data", batch.get("data"))
    labels = batch.get(b"labels", batch.get("labels"))
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.shape[1:] == (3072,)):
        raise DatasetError(f"{path}: its 'data' is {_what(data)}; {expected}")
    y = _int_labels(labels)
    if y is None or y.shape != (len(data),):
        raise DatasetError(
            f"{path}: {len(data)} images, and 'labels' is {_what(labels)}; {expected}"
        )
    _check_labels(path, y)
    return data, y


def _int_labels(labels: Any) -> np.ndarray | None:
    if isinstance(labels, np.ndarray) and labels.ndim == 1 and labels.dtype.kind in "iu":
        return labels.astype(np.int64)
    if isinstance(labels, list) and all(type(v) is int for v in labels):
        try:
            return np.array(labels, dtype=np.int64).reshape(len(labels))
        except OverflowError:
            return None
    return None


def _what(obj: Any) -> str:
    if obj is None:
        return "missing"
    if isinstance(obj, np.ndarray):
        return f"a {obj.dtype} array of shape {obj.shape}"
    if isinstance(obj, list | tuple | dict):
        kinds = sorted({type(v).__name__ for v in obj})
        return f"a {type(obj).__name__} of {len(obj)} items ({', '.join(kinds) or 'empty'})"
    return f"a {type(obj).__name__}"
