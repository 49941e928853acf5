"""The numpy part of `bench models --verify`: the hand-written NumPy network is the same network.

In the verify child, for each model the numpy runner implements: its parameter counts against
the analytic ones, its output shape, and its forward output (inference) against torch's on the
same weights — both built from one seed's initial weights (`models.initial`), so no copying is
involved — relative to the output scale (`max|numpy − torch| / max|torch|`, the tolerance of
`models.verify`). A model with a layer the runner lacks is left empty (`numpy_skip` says why).
"""

from __future__ import annotations

import importlib.util
from typing import Any

from models.spec import ModelSpec


def numpy_check(spec: ModelSpec, check: dict[str, Any], seed: int = 0, batch: int = 2) -> None:
    """Add numpy's counts, output shape, output difference and problems to `check` (a
    `models.verify.Check` as a dict)."""
    from bench.runners.numpy import unsupported_layers
    from models import flops
    from models.verify import OUTPUT_TOLERANCE

    check["rel_diff_numpy"] = None
    if missing := unsupported_layers(spec):
        check["numpy_skip"] = f"the numpy runner has no {', '.join(missing)} layer"
        return
    import numpy as np

    from bench.runners.numpy_model import Network

    net = Network(spec, seed)
    x = np.random.default_rng(seed).standard_normal((batch, *spec.input_shape), dtype=np.float32)
    ours = net.forward(x, training=False)
    check["counts"]["numpy"] = net.counts()
    check["output_shapes"]["numpy"] = tuple(ours.shape)
    problems = list(check["problems"])
    if net.counts() != (analytic := flops.param_counts(spec)):
        problems.append(f"numpy params (trainable, non) {net.counts()} != analytic {analytic}")
    if ours.shape != (expected := (batch, *flops.output_shape(spec))):
        problems.append(f"numpy output shape {ours.shape} != {expected}")
    if importlib.util.find_spec("torch") is not None:
        theirs = _torch_output(spec, x, seed)
        diff = float(np.max(np.abs(ours - theirs)) / max(float(np.max(np.abs(theirs))), 1e-12))
        check["rel_diff_numpy"] = diff
        if not diff <= OUTPUT_TOLERANCE:
            problems.append(f"numpy and torch outputs differ: relative {diff:.2e}")
    check["problems"] = problems


def _torch_output(spec: ModelSpec, x: Any, seed: int) -> Any:
    """torch's inference output for NHWC (or flat) `x`, from the seed's initial weights."""
    import torch

    from models import torch_build

    model = torch_build.build(spec, seed=seed).eval()
    xt = torch.from_numpy(x.transpose(0, 3, 1, 2).copy() if x.ndim == 4 else x)
    with torch.no_grad():
        return model(xt).numpy()
