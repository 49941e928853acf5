"""Proof of sameness for one model: build it in torch and keras and compare everything.

``check(spec)`` builds the spec in every installed framework (torch, keras) and returns a
``Check``: trainable / non-trainable parameter counts against the analytic ones, output shapes,
conv/dense FLOPs counted by ``torch.utils.flop_counter.FlopCounterMode`` against
``flops.matmul_flops`` (1% tolerance), and, with the torch weights copied into the keras model
(``models.transfer``), the largest output difference relative to the output scale
(``max|torch - keras| / max|torch|``, tolerance 1e-4 by default), and whether the two builds
start from bit-identical initial weights for one seed (``models.initial``). BatchNorm
statistics are randomized before the copy so that they are exercised. Frameworks are imported
inside the functions that use them; call this in a child process (or a test), never in the
harness parent.
``cases()`` and ``reduced_input_shape()`` say which variants to check at which size.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from typing import Any

from models import flops, zoo
from models.spec import ModelSpec

FLOPS_TOLERANCE = 0.01
OUTPUT_TOLERANCE = 1e-4
_REDUCED_SIZES = (32, 48, 64, 96, 128)


@dataclass(frozen=True, slots=True)
class Check:
    """Everything compared for one spec; ``problems`` lists each mismatch in words."""

    name: str
    input_shape: tuple[int, ...]
    classes: int
    analytic: tuple[int, int]
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)
    output_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    matmul_flops: int = 0
    counted_flops: int | None = None
    max_abs_diff: float | None = None
    rel_diff: float | None = None
    problems: tuple[str, ...] = ()
    initial_identical: bool | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def installed(framework: str) -> bool:
    """Whether ``torch`` / ``keras`` can be imported, without importing it."""
    return importlib.util.find_spec(framework) is not None


def variants(name: str) -> list[dict[str, Any]]:
    """The default options, plus each non-default choice of each option on its own."""
    out: list[dict[str, Any]] = [{}]
    for key, option in zoo.info(name).options.items():
        out += [{key: value} for value in option.choices if value != option.default]
    return out


def cases() -> list[tuple[str, dict[str, Any]]]:
    """(name, options) for every registered model and option variant."""
    return [(name, options) for name in zoo.names() for options in variants(name)]


def reduced_input_shape(name: str) -> tuple[int, ...]:
    """The default input if at most 64x64, else the smallest square size in 32..128 that fits."""
    default = zoo.info(name).input_shape
    if len(default) != 3 or max(default[:2]) <= 64:
        return default
    for size in _REDUCED_SIZES:
        shape = (size, size, default[2])
        try:
            flops.layer_table(zoo.get(name, shape))
        except ValueError:
            continue
        return shape
    return default


def check(
    spec: ModelSpec, tolerance: float = OUTPUT_TOLERANCE, batch: int = 2, seed: int = 0
) -> Check:
    """Build ``spec`` in each installed framework and compare (see the module docstring)."""
    analytic = flops.param_counts(spec)
    expected_out = (batch, *flops.output_shape(spec))
    result: dict[str, Any] = {"counts": {}, "output_shapes": {}}
    problems: list[str] = []
    tmodel = kmodel = x = None
    if installed("torch"):
        tmodel, x = _torch_side(spec, batch, seed, result)
    if installed("keras"):
        kmodel = _keras_side(spec, batch, result)
    for fw, counts in result["counts"].items():
        if counts != analytic:
            problems.append(f"{fw} params (trainable, non) {counts} != analytic {analytic}")
    for fw, shape in result["output_shapes"].items():
        if shape != expected_out:
            problems.append(f"{fw} output shape {shape} != {expected_out}")
    matmul = flops.matmul_flops(spec)
    counted = result.get("counted_flops")
    if counted is not None and abs(counted - matmul) > FLOPS_TOLERANCE * matmul:
        problems.append(f"FlopCounterMode {counted} vs analytic conv/dense {matmul} FLOPs")
    if tmodel is not None and kmodel is not None:
        _compare_outputs(spec, tmodel, kmodel, x, result)
        if not result["rel_diff"] <= tolerance:
            problems.append(f"outputs differ: relative {result['rel_diff']:.2e} > {tolerance}")
        result["initial_identical"] = initial_identical(spec, seed)
        if not result["initial_identical"]:
            problems.append("initial weights from the same seed differ between torch and keras")
    return Check(
        spec.name,
        tuple(spec.input_shape),
        spec.classes,
        analytic,
        result["counts"],
        result["output_shapes"],
        matmul,
        counted,
        result.get("max_abs_diff"),
        result.get("rel_diff"),
        tuple(problems),
        result.get("initial_identical"),
    )


def initial_identical(spec: ModelSpec, seed: int) -> bool:
    """Whether the torch and Keras builds of `spec` from `seed` start bit-identical: the torch
    build, copied into a fresh Keras build (``models.transfer``), equals the seeded Keras build."""
    import numpy as np

    from models import keras_build, torch_build
    from models.transfer import torch_to_keras

    seeded, copied = keras_build.build(spec, seed=seed), keras_build.build(spec)
    torch_to_keras(torch_build.build(spec, seed=seed), copied, spec)
    return all(
        np.array_equal(np.asarray(a), np.asarray(b))
        for a, b in zip(seeded.weights, copied.weights, strict=True)
    )


def _torch_side(spec: ModelSpec, batch: int, seed: int, result: dict) -> tuple[Any, Any]:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from models import torch_build

    torch.manual_seed(seed)
    model = torch_build.build(spec)
    result["counts"]["torch"] = torch_build.count_params(model)
    _randomize_batchnorm(model, seed)
    model.eval()
    x = torch.randn(torch_build.input_tensor(spec, batch).shape)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        out = model(x)
    result["output_shapes"]["torch"] = tuple(out.shape)
    result["counted_flops"] = counter.get_total_flops() // batch
    result["torch_out"] = out.numpy()
    return model, x


def _randomize_batchnorm(model: Any, seed: int) -> None:
    import torch

    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                n = module.num_features
                module.weight.copy_(1 + 0.2 * torch.randn(n, generator=gen))
                module.bias.copy_(0.2 * torch.randn(n, generator=gen))
                module.running_mean.copy_(0.2 * torch.randn(n, generator=gen))
                module.running_var.copy_(0.5 + torch.rand(n, generator=gen))


def _keras_side(spec: ModelSpec, batch: int, result: dict) -> Any:
    from models import keras_build

    model = keras_build.build(spec)
    result["counts"]["keras"] = keras_build.count_params(model)
    result["output_shapes"]["keras"] = (batch, *model.output_shape[1:])
    return model


def _compare_outputs(spec: ModelSpec, tmodel: Any, kmodel: Any, x: Any, result: dict) -> None:
    import keras
    import numpy as np

    from models.transfer import torch_to_keras

    torch_to_keras(tmodel, kmodel, spec)
    xk = x.numpy()
    if xk.ndim == 4:
        xk = xk.transpose(0, 2, 3, 1)
    kout = keras.ops.convert_to_numpy(kmodel(xk, training=False))
    tout = result.pop("torch_out")
    result["output_shapes"]["keras"] = tuple(kout.shape)
    diff = float(np.max(np.abs(tout - kout)))
    result["max_abs_diff"] = diff
    result["rel_diff"] = diff / max(float(np.max(np.abs(tout))), 1e-12)
