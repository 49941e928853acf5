"""`bench models --verify` for a native model: what can be checked without a spec.

A native model's torch and Keras factories are two definitions the harness cannot relate layer
by layer, so there is no analytic count, no weight copy and no forward-equivalence check. What
``check`` does, in each installed framework the model has a factory for: build it (the RNG
seeded), count its trainable and non-trainable parameters, run a batch through it in inference
mode and check the output is ``(batch, classes)`` logits; forward FLOPs are counted by torch's
``FlopCounterMode`` (conv and matmul), or where there is no torch factory from the Keras model's
conv and dense layers (``models.keras_flops``). With both factories, differing parameter counts
are a problem: the two are not the same network. Frameworks are imported inside; call it in a child.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from models import native


def note(ref: native.NativeRef) -> str:
    """What a native model's row cannot show, for the factories it has: with two, no forward
    check (they share no weight layout); with one, no other framework to compare with."""
    factories = [fw for fw in native.NATIVE_FRAMEWORKS if ref.for_framework(fw)]
    if len(factories) > 1:
        return (
            "native model: parameters and FLOPs counted from the built models; no analytic "
            "count and no forward-equivalence check (the two factories share no weight layout)"
        )
    only = factories[0] if factories else "no"
    return (
        f"native model with a {only} factory only: parameters and FLOPs counted from the built "
        "model; no analytic count, and no other framework's build to compare its outputs with"
    )


def _torch(ref: str, shape: tuple[int, ...], classes: int, batch: int, seed: int) -> dict:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from models import torch_build

    torch.manual_seed(seed)
    model = native.build_torch(ref, shape, classes).eval()
    h, w, c = shape
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        out = model(torch.randn(batch, c, h, w))
    flops = counter.get_total_flops() // batch
    return {"counts": torch_build.count_params(model), "shape": tuple(out.shape), "flops": flops}


def _keras(ref: str, shape: tuple[int, ...], classes: int, batch: int, seed: int) -> dict:
    import keras
    import numpy as np

    from models import keras_build, keras_flops

    keras.utils.set_random_seed(seed)
    model = native.build_keras(ref, shape, classes)
    x = np.random.default_rng(seed).standard_normal((batch, *shape), dtype=np.float32)
    out = keras.ops.convert_to_numpy(model(x, training=False))
    counted = keras_flops.count(keras, model, shape)
    built = {"counts": keras_build.count_params(model), "shape": tuple(out.shape)}
    return built if counted is None else {**built, "flops": counted[0]}


def check(
    name: str, ref: native.NativeRef, shape: tuple[int, ...], classes: int, batch: int = 2
) -> dict[str, Any]:
    """The verify child's record for native model ``name`` (the keys of a spec model's
    ``models.verify.Check``, the spec-only ones empty)."""
    counts: dict[str, tuple[int, int]] = {}
    shapes: dict[str, tuple[int, ...]] = {}
    problems: list[str] = []
    counted = None
    for framework, side in (("torch", _torch), ("keras", _keras)):
        factory = ref.for_framework(framework)
        if not factory or importlib.util.find_spec(framework) is None:
            continue
        try:
            built = side(factory, tuple(shape), classes, batch, 0)
        except Exception as exc:  # the user's factory: report it, check the other framework
            problems.append(f"{framework} factory {factory} failed: {type(exc).__name__}: {exc}")
            continue
        counts[framework], shapes[framework] = built["counts"], built["shape"]
        counted = counted if counted is not None else built.get("flops")
    for framework, out in shapes.items():
        if out != (batch, classes):
            problems.append(f"{framework} output shape {out} != {(batch, classes)} logits")
    if len(counts) == 2 and counts["torch"] != counts["keras"]:
        problems.append(
            f"the torch and keras factories differ in parameters (trainable, non-trainable) "
            f"{counts['torch']} vs {counts['keras']}: they are not the same network"
        )
    return {
        "name": name,
        "input_shape": tuple(shape),
        "classes": classes,
        "analytic": None,
        "counts": counts,
        "output_shapes": shapes,
        "matmul_flops": None,
        "counted_flops": counted,
        "max_abs_diff": None,
        "rel_diff": None,
        "problems": problems,
        "initial_identical": None,
        "numpy_skip": "a native model has no spec for the numpy runner",
        "rel_diff_numpy": None,
        "note": note(ref),
    }
