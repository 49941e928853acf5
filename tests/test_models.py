"""Parity of every registered model: analytic vs torch vs keras parameter counts and shapes.

Parametrized over ``zoo.names()``, so registering a model is enough to get it tested.
"""

from __future__ import annotations

import numpy as np
import pytest

from models import flops, zoo
from models.spec import ModelSpec

torch = pytest.importorskip("torch")
keras = pytest.importorskip("keras")

from models import keras_build, torch_build  # noqa: E402

BATCH = 2


def _analytic_split(spec: ModelSpec) -> tuple[int, int]:
    total = flops.param_count(spec)
    trainable = getattr(flops, "trainable_param_count", flops.param_count)(spec)
    return trainable, total - trainable


def _small_spec(name: str) -> ModelSpec:
    return zoo.get(name)


def _check_parity(spec: ModelSpec) -> None:
    expected = _analytic_split(spec)

    tmodel = torch_build.build(spec)
    assert torch_build.count_params(tmodel) == expected
    with torch.no_grad():
        tout = tmodel.eval()(torch_build.input_tensor(spec, BATCH))

    kmodel = keras_build.build(spec)
    assert keras_build.count_params(kmodel) == expected
    assert kmodel.count_params() == sum(expected)
    kout = kmodel(np.zeros((BATCH, *spec.input_shape), dtype="float32"), training=False)

    assert tuple(tout.shape) == tuple(kout.shape) == (BATCH, *flops.output_shape(spec))
    assert flops.output_shape(spec) == (spec.classes,)


@pytest.mark.parametrize("name", zoo.names())
def test_param_counts_and_shapes_agree(name: str) -> None:
    _check_parity(_small_spec(name))


@pytest.mark.parametrize("name", ["seed_cnn", "seed_ffnn"])
def test_other_input_shape_and_classes(name: str) -> None:
    default = zoo.get(name)
    spec = zoo.get(name, (32, 32, 3), 7)
    assert flops.param_count(spec) != flops.param_count(default)
    _check_parity(spec)


@pytest.mark.parametrize(("name", "params"), [("seed_cnn", 1_475_146), ("seed_ffnn", 44_458)])
def test_seed_param_counts_exact(name: str, params: int) -> None:
    spec = zoo.get(name, (28, 28, 1), 10)
    assert flops.param_count(spec) == params
    assert sum(p.numel() for p in torch_build.build(spec).parameters()) == params
