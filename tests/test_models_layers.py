"""The spec vocabulary in both frameworks: edge cases the registered models may not reach.

Asymmetric "same" padding (stride 2 on even sizes), depth multipliers, average pooling,
BatchNorm on a flattened map (flatten-order permutation), flat inputs, and the BatchNorm
momentum / epsilon conversion between the Keras and torch conventions.
"""

from __future__ import annotations

import numpy as np
import pytest

from models import flops, verify
from models.spec import (
    AvgPool,
    BatchNorm,
    Conv,
    Dense,
    Dropout,
    Flatten,
    GlobalAvgPool,
    MaxPool,
    ModelSpec,
    ReLU,
    Residual,
    SeparableConv,
)

torch = pytest.importorskip("torch")
keras = pytest.importorskip("keras")

from models import keras_build, torch_build  # noqa: E402

SPECS = {
    "strided_same": ModelSpec(
        "strided_same",
        (16, 14, 3),
        5,
        (
            Conv(8, 3, 2, "same"),
            BatchNorm(),
            ReLU(),
            Conv(8, 4, 1, "same", bias=False),
            MaxPool(3, 2, "same"),
            SeparableConv(12, 5, 2, "same", depth_multiplier=2),
            GlobalAvgPool(),
            Dense(5),
        ),
    ),
    "pools_and_flat_batchnorm": ModelSpec(
        "pools_and_flat_batchnorm",
        (13, 11, 2),
        4,
        (
            Conv(6, 3, padding="valid"),
            AvgPool(3, 1, "same"),
            AvgPool(2),
            ReLU(),
            Flatten(),
            BatchNorm(momentum=0.9, epsilon=1e-5),
            Dropout(0.3),
            Dense(9, bias=False),
            ReLU(),
            Dense(4),
        ),
    ),
    "residual": ModelSpec(
        "residual",
        (12, 12, 4),
        3,
        (
            Residual((SeparableConv(4, 3), BatchNorm(), ReLU())),
            Residual((Conv(6, 3, 2), BatchNorm()), (Conv(6, 1, 2, bias=False), BatchNorm())),
            Flatten(),
            Dense(3),
        ),
        frozen_layers=1,
    ),
    "flat_input": ModelSpec("flat_input", (20,), 2, (BatchNorm(), Dense(8), ReLU(), Dense(2))),
}


@pytest.mark.parametrize("name", sorted(SPECS))
def test_vocabulary_is_the_same_in_torch_and_keras(name: str) -> None:
    result = verify.check(SPECS[name], batch=3)
    assert set(result.counts) == {"torch", "keras"}
    assert result.ok, result.problems
    assert result.counted_flops == result.matmul_flops


def test_strided_same_shapes() -> None:
    shapes = [row.output_shape for row in flops.layer_table(SPECS["strided_same"])]
    assert shapes[0] == (8, 7, 8)  # ceil(16/2), ceil(14/2)
    assert shapes[4] == (4, 4, 8)
    assert shapes[5] == (2, 2, 12)


def test_batchnorm_momentum_and_epsilon_conventions() -> None:
    layer = BatchNorm(momentum=0.9, epsilon=1e-5)
    spec = ModelSpec("bn", (4,), 4, (layer,))
    tbn = torch_build.build(spec)[0]
    kbn = keras_build.build(spec).get_layer(keras_build.layer_name(0))
    assert tbn.momentum == pytest.approx(1 - layer.momentum)
    assert kbn.momentum == pytest.approx(layer.momentum)
    assert tbn.eps == kbn.epsilon == layer.epsilon

    # One training step moves the running statistics by the same amount in both.
    x = np.random.default_rng(0).normal(2.0, 3.0, size=(8, 4)).astype("float32")
    tbn.train()(torch.from_numpy(x))
    kbn(x, training=True)
    k_mean, k_var = (np.asarray(w) for w in kbn.get_weights()[2:])
    np.testing.assert_allclose(tbn.running_mean.numpy(), k_mean, rtol=1e-5)
    # torch updates with the unbiased batch variance, Keras with the biased one.
    n = x.shape[0]
    batch_var = x.var(axis=0)
    np.testing.assert_allclose(k_var, 0.9 + 0.1 * batch_var, rtol=1e-5)
    np.testing.assert_allclose(tbn.running_var.numpy(), 0.9 + 0.1 * batch_var * n / (n - 1), 1e-5)
