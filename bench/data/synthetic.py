"""The `synthetic` data set: seeded standard-normal images and uniform labels of the model's
shape and class count. Its training arrays depend only on the seed and the sample count (the
validation images are drawn after them), exactly as in every earlier version.
"""

from __future__ import annotations

from bench.data.source import Dataset, val_count


def synthetic(
    shape: tuple[int, int, int], classes: int, samples: int, seed: int, val_fraction: float
) -> Dataset:
    import numpy as np

    rng = np.random.default_rng(seed)
    # Training draws first, then validation: the training arrays depend only on the seed.
    x = rng.standard_normal((samples, *shape), dtype=np.float32)
    y = rng.integers(0, classes, size=samples, dtype=np.int64)
    n_val = val_count(samples, val_fraction)
    x_val = rng.standard_normal((n_val, *shape), dtype=np.float32)
    y_val = rng.integers(0, classes, size=n_val, dtype=np.int64)
    return Dataset(
        x_train=x,
        y_train=y,
        x_val=x_val,
        y_val=y_val,
        name="synthetic",
        spec="synthetic",
        path="",
        files_read=0,
        checksum="",
        skipped=0,
        classes=classes,
        class_names=tuple(str(i) for i in range(classes)),
        source_samples=samples,
    )
