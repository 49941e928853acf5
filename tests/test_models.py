"""Proof of sameness for every registered model: torch vs keras vs analytic.

Parametrized over ``verify.cases()`` (every registered model and each non-default option value),
so registering a model is enough to get it tested. Each case checks, at a reduced input size
for big models: trainable and non-trainable counts (analytic == torch == keras), output shapes,
conv/dense FLOPs against ``FlopCounterMode`` (within 1%), and forward outputs with the torch
weights copied into keras (max |diff| <= 1e-4 x max |output|). Full sizes are ``slow``.
"""

from __future__ import annotations

from typing import Any

import pytest

from models import flops, verify, zoo

torch = pytest.importorskip("torch")
keras = pytest.importorskip("keras")

from models import keras_build, torch_build  # noqa: E402


def _case_id(case: tuple[str, dict[str, Any]]) -> str:
    name, options = case
    return name + "".join(f"-{k}={v}" for k, v in options.items())


def _assert_same(spec: Any, batch: int = 2) -> verify.Check:
    result = verify.check(spec, batch=batch)
    assert set(result.counts) == {"torch", "keras"}
    assert result.ok, result.problems
    assert result.counted_flops == result.matmul_flops
    return result


@pytest.mark.parametrize("case", verify.cases(), ids=_case_id)
def test_model_is_the_same_in_torch_and_keras(case: tuple[str, dict[str, Any]]) -> None:
    name, options = case
    _assert_same(zoo.get(name, verify.reduced_input_shape(name), **options))


@pytest.mark.parametrize(("name", "params"), [("seed_cnn", 1_475_146), ("seed_ffnn", 44_458)])
def test_seed_param_counts_exact(name: str, params: int) -> None:
    spec = zoo.get(name, (28, 28, 1), 10)
    assert flops.param_count(spec) == params
    assert sum(p.numel() for p in torch_build.build(spec).parameters()) == params
    assert keras_build.build(spec).count_params() == params


@pytest.mark.parametrize("name", ["seed_cnn", "seed_ffnn", "seed004_cnn"])
def test_other_input_shape_and_classes(name: str) -> None:
    spec = zoo.get(name, (40, 36, 3), 7)
    assert flops.param_count(spec) != flops.param_count(zoo.get(name))
    assert _assert_same(spec).output_shapes["torch"] == (2, 7)


def test_xception_exact_counts_at_reduced_size() -> None:
    # GlobalAvgPool makes the count independent of the input size.
    spec = zoo.get("xception", (32, 32, 3))
    assert torch_build.count_params(torch_build.build(spec)) == (22_855_952, 54_528)


@pytest.mark.parametrize("name", ["vgg16", "xception"])
def test_frozen_backbone_trains_only_the_head(name: str) -> None:
    spec = zoo.get(name, (32, 32, 3), 10, frozen=True)
    model = torch_build.build(spec).train()
    backbone = list(model)[: spec.frozen_layers]
    assert all(not m.training for m in backbone)  # frozen BatchNorm stays in inference mode
    model(torch_build.input_tensor(spec, 2, 1.0)).sum().backward()
    for i, module in enumerate(model):
        for p in module.parameters():
            assert (p.grad is not None) == (i >= spec.frozen_layers)
    kmodel = keras_build.build(spec)
    trainable = sum(int(torch.tensor(w.shape).prod()) for w in kmodel.trainable_weights)
    assert trainable == flops.trainable_param_count(spec)
    assert flops.train_flops(spec) < 3 * flops.forward_flops(spec)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "counts"), [("vgg16", (138_357_544, 0)), ("xception", (22_855_952, 54_528))]
)
def test_full_size(name: str, counts: tuple[int, int]) -> None:
    result = _assert_same(zoo.get(name), batch=1)
    assert result.analytic == counts
