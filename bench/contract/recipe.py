"""The optimizer recipe every framework applies, defined once: its choices, the learning-rate
schedule's maths, and what a framework cannot do (a trial planned as `skipped`, saying why).

`[train]` names the recipe (`bench.core.settings`): `optimizer` (`adam`, `adamw`, `sgd` with
`momentum`), `weight_decay`, `implementation` (torch's optimizer kernels), `clip_grad_norm`
(the gradients' global L2 norm, 0 = off), `lr_schedule` and `warmup_steps`. The maths is
torch's, and each runner builds it from its framework's own parts where they agree
(`bench.runners.optim_torch`, `optim_keras`, `numpy_optim`):

- `adam`: torch.optim.Adam, β = (0.9, 0.999), ε = 1e-7; `weight_decay` is torch's L2 term,
  added to the gradient (g + wd·p) before the moments.
- `adamw`: torch.optim.AdamW: decoupled decay, p ← p·(1 − lr·wd), then Adam's update.
- `sgd`: torch.optim.SGD: with `momentum` μ, buf ← μ·buf + g (the first buf is g) and
  p ← p − lr·buf; `weight_decay` adds wd·p to the gradient.
- clipping: `torch.nn.utils.clip_grad_norm_` before the step: every gradient × min(1, c / (‖g‖
  + 1e-6)), ‖g‖ the L2 norm of all gradients together (Keras: `global_clipnorm`).
- the schedule multiplies the base rate at the k-th optimizer step (k = 0 first) by
  `lr_factor(k)`: a linear warm-up over `warmup_steps` W, (k + 1) / W for k < W, then `constant`
  1; `linear` 1 − j / D; `cosine` (1 + cos(π·j / D)) / 2, with j = k − W steps since the
  warm-up and D = T − W the steps left of the trial's T = epochs × steps per epoch (torch:
  `LinearLR` warm-up, then `LinearLR(1, 0, D)` or `CosineAnnealingLR(D)`, in a `SequentialLR`;
  the HF Trainer's `linear` and `cosine` with warm-up are the same curves).

Keras applies `weight_decay` decoupled for every optimizer and folds the learning rate into
SGD's momentum, so where that differs from torch's maths (Adam's or momentum-SGD's L2 term,
momentum under a changing rate) its trial is skipped; Keras and NumPy have no choice of
optimizer kernel, so only `default` runs there (Keras on torch: `foreach`, what it runs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

OPTIMIZERS = ("adam", "adamw", "sgd")
IMPLEMENTATIONS = ("default", "foreach", "fused", "for-loop")
SCHEDULES = ("constant", "linear", "cosine")
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-7  # Keras's default and the seed recipe's, in every framework
CLIP_EPS = 1e-6  # torch.nn.utils.clip_grad_norm_'s: c / (norm + 1e-6)


def lr_factor(step: int, schedule: str, warmup: int, total: int) -> float:
    """The learning rate's multiplier at optimizer step `step` (0-based) of `total` steps."""
    if step < warmup:
        return (step + 1) / warmup
    if schedule == "constant":
        return 1.0
    span = total - warmup
    done = min(step - warmup, span)
    if schedule == "linear":
        return 1.0 - done / span
    return 0.5 * (1.0 + math.cos(math.pi * done / span))


@dataclass(frozen=True, slots=True)
class Recipe:
    """A trial's optimizer recipe: the `[train]` keys, as the trial carries them."""

    optimizer: str = "adam"
    learning_rate: float = 0.001
    momentum: float = 0.0
    weight_decay: float = 0.0
    implementation: str = "default"
    clip_grad_norm: float = 0.0
    lr_schedule: str = "constant"
    warmup_steps: int = 0

    @property
    def scheduled(self) -> bool:
        """Whether the learning rate changes during training."""
        return self.lr_schedule != "constant" or self.warmup_steps > 0

    def lr(self, step: int, total: int) -> float:
        """The learning rate of optimizer step `step` (0-based) of `total`."""
        factor = lr_factor(step, self.lr_schedule, self.warmup_steps, total)
        return self.learning_rate * factor

    def describe(self) -> str:
        """The recipe in a few words: `adamw lr=0.001 wd=0.01 clip=1 linear warmup=10`."""
        words = [self.optimizer, f"lr={self.learning_rate:g}"]
        if self.momentum:
            words.append(f"momentum={self.momentum:g}")
        if self.weight_decay:
            words.append(f"wd={self.weight_decay:g}")
        if self.implementation != "default":
            words.append(self.implementation)
        if self.clip_grad_norm:
            words.append(f"clip={self.clip_grad_norm:g}")
        if self.scheduled:
            warm = f" warmup={self.warmup_steps}" if self.warmup_steps else ""
            words.append(self.lr_schedule + warm)
        return " ".join(words)


def recipe_skip(framework: str, backend: str, recipe: Recipe, total_steps: int) -> str:
    """Why a trial of `framework` cannot run `recipe` over `total_steps` ("" when it can)."""
    schedule, warmup = recipe.lr_schedule, recipe.warmup_steps
    if schedule != "constant" and warmup >= total_steps:
        return (
            f"warmup_steps = {warmup} leaves no step for the {schedule} decay: this trial "
            f"trains {total_steps} steps"
        )
    if framework == "keras":
        return _keras_skip(backend, recipe)
    if framework == "numpy" and recipe.implementation != "default":
        return (
            f"implementation = {recipe.implementation} is a choice of torch's optimizer "
            "kernels; the NumPy runner's optimizer is a dozen whole-buffer operations over one "
            "flat parameter buffer (implementation = default)"
        )
    return ""


def _keras_skip(backend: str, recipe: Recipe) -> str:
    """What Keras's optimizers cannot do the way torch does ("" when they can)."""
    implementation, runs = recipe.implementation, keras_implementation(backend)
    if implementation not in ("default", runs):
        return (
            f"implementation = {implementation}: Keras on {backend} has no choice of optimizer "
            f"kernel (it runs {runs}); use implementation = default"
        )
    momentum = recipe.optimizer == "sgd" and recipe.momentum > 0
    if recipe.weight_decay and (recipe.optimizer == "adam" or momentum):
        name = "SGD with momentum" if momentum else "Adam"
        return (
            f"weight_decay with {name}: torch adds wd·p to the gradient (an L2 term), Keras "
            "decays the weights decoupled for every optimizer; use adamw (or sgd without "
            "momentum, where the two agree)"
        )
    if momentum and recipe.scheduled:
        return (
            "sgd with momentum under a changing learning rate: Keras's velocity accumulates "
            "lr·g, torch's buffer accumulates g and is scaled by the current rate; they agree "
            "only at a constant rate"
        )
    return ""


def keras_implementation(backend: str) -> str:
    """The optimizer kernels Keras runs on `backend`: torch's `foreach` ops on the torch
    backend (`TorchParallelOptimizer`), per-variable update ops in the traced step elsewhere."""
    return {"torch": "foreach"}.get(backend, "per-variable ops in the train step")
