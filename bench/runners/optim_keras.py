"""The optimizer recipe (`bench.contract.recipe`) in Keras 3, built from Keras's own parts.

- `adam` → `keras.optimizers.Adam`, `adamw` → `keras.optimizers.AdamW(weight_decay=wd)`, `sgd`
  → `keras.optimizers.SGD(momentum=μ)`, all with β = (0.9, 0.999) and ε = 1e-7. Keras's AdamW
  decays before the update as torch's does, `variable − variable·wd·lr` with the step's
  scheduled rate (`BaseOptimizer._apply_weight_decay`); its ε sits outside the bias-corrected
  √v (torch: inside), the difference the parity tests have always allowed. Keras decays
  decoupled for every optimizer, so `weight_decay` goes to SGD only without momentum (there the
  two agree exactly) — the other combinations are planned as skipped (`recipe_skip`).
- clipping → `global_clipnorm=c`: Keras scales every gradient by c / max(‖g‖, c), ‖g‖ the
  global norm of all gradients, before weight decay and the update — torch's
  `clip_grad_norm_` (per-variable `clipnorm` would be another recipe).
- the schedule → `WarmupDecay`, a `LearningRateSchedule` that computes `lr_factor` with
  `keras.ops` from the optimizer's step count (0 at the first step, as torch's scheduler), so
  every backend runs the same curve inside its compiled step.

What ran is recorded in settings.csv: the optimizer class, the kernels Keras runs on this
backend (`recipe.keras_implementation`), the clipping and the schedule.
"""

from __future__ import annotations

import math
from typing import Any

from bench.contract.recipe import ADAM_BETAS, ADAM_EPS, Recipe, keras_implementation


def make_schedule(keras: Any, recipe: Recipe, total: int) -> Any:
    """`recipe`'s learning rate per step as a Keras schedule; a plain float when constant."""
    if not recipe.scheduled:
        return recipe.learning_rate
    ops = keras.ops
    base, warmup, kind = recipe.learning_rate, recipe.warmup_steps, recipe.lr_schedule
    span = float(total - warmup)

    class WarmupDecay(keras.optimizers.schedules.LearningRateSchedule):
        """lr · `bench.contract.recipe.lr_factor(step)`, in `keras.ops`."""

        def __call__(self, step: Any) -> Any:
            k = ops.cast(step, "float32")
            done = ops.minimum(k - warmup, span)
            if kind == "linear":
                decay = 1.0 - done / span
            elif kind == "cosine":
                decay = 0.5 * (1.0 + ops.cos(math.pi * done / span))
            else:
                decay = ops.ones_like(k)
            factor = ops.where(k < warmup, (k + 1.0) / max(warmup, 1), decay)
            return base * factor

        def get_config(self) -> dict[str, Any]:
            return {"learning_rate": base, "schedule": kind, "warmup_steps": warmup, "total": total}

    return WarmupDecay()


def make_optimizer(keras: Any, recipe: Recipe, total: int) -> Any:
    """The Keras optimizer of `recipe` over `total` steps."""
    lr = make_schedule(keras, recipe, total)
    clip = {"global_clipnorm": recipe.clip_grad_norm} if recipe.clip_grad_norm else {}
    decay = recipe.weight_decay or None
    if recipe.optimizer == "sgd":
        return keras.optimizers.SGD(
            learning_rate=lr, momentum=recipe.momentum, weight_decay=decay, **clip
        )
    beta_1, beta_2 = ADAM_BETAS
    adam = {"learning_rate": lr, "beta_1": beta_1, "beta_2": beta_2, "epsilon": ADAM_EPS, **clip}
    if recipe.optimizer == "adamw":
        return keras.optimizers.AdamW(weight_decay=recipe.weight_decay, **adam)
    return keras.optimizers.Adam(weight_decay=decay, **adam)


def recipe_settings(optimizer: Any, recipe: Recipe, backend: str, mode: str) -> dict[str, Any]:
    """What ran, as settings.csv records it (`optimizer` unwrapped from loss scaling)."""
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    clip = inner.global_clipnorm
    schedule = inner._learning_rate if hasattr(inner, "_learning_rate") else None
    return {
        "optimizer.recipe": recipe.describe(),
        "optimizer.class": f"keras.optimizers.{type(inner).__name__}",
        "optimizer.implementation": f"{keras_implementation(backend)} ({mode} mode)",
        "optimizer.weight_decay": inner.weight_decay or 0,
        "optimizer.momentum": getattr(inner, "momentum", ""),
        "optimizer.eps": getattr(inner, "epsilon", ""),
        "optimizer.clip": f"global_clipnorm={clip:g}" if clip else "none",
        "optimizer.lr_schedule": (
            f"WarmupDecay({recipe.lr_schedule}, warmup_steps={recipe.warmup_steps})"
            if recipe.scheduled and schedule is not None
            else "constant"
        ),
    }
