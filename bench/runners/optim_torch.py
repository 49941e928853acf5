"""The optimizer recipe (`bench.contract.recipe`) in torch, built from torch's own parts.

`TorchRecipe` holds what a torch user writes around the loop: the optimizer
(`torch.optim.Adam` / `AdamW` / `SGD` with ε = 1e-7, `weight_decay`, `momentum`, and the kernel
choice — `foreach=True`, `fused=True`, `foreach=False` for `for-loop`, nothing for `default`),
`torch.nn.utils.clip_grad_norm_` between backward and step, and a per-step learning-rate
scheduler: a `LinearLR` warm-up (start factor 1/W over W − 1 steps, so step k runs at
(k + 1)/W), then `LinearLR(1, 0, D)` or `CosineAnnealingLR(D)`, chained by `SequentialLR` at
step W. `scheduler.step()` follows every `optimizer.step()`. What ran is recorded: the
optimizer class, the kernels torch chose for `default` (its `_default_to_fused_or_foreach`:
foreach where every parameter is on a device with foreach kernels, CUDA; the for-loop on the
CPU), the scheduler chain and the clipping. The bare loop of `bench selfcheck` uses it too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.contract.recipe import ADAM_BETAS, ADAM_EPS, Recipe

KERNELS: dict[str, dict[str, bool]] = {
    "default": {},
    "foreach": {"foreach": True},
    "fused": {"fused": True},
    "for-loop": {"foreach": False},
}


def make_optimizer(torch: Any, params: list[Any], recipe: Recipe) -> Any:
    """The torch optimizer of `recipe` over `params`."""
    kernels = KERNELS[recipe.implementation]
    lr, decay = recipe.learning_rate, recipe.weight_decay
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=lr, momentum=recipe.momentum, weight_decay=decay, **kernels
        )
    kind = torch.optim.AdamW if recipe.optimizer == "adamw" else torch.optim.Adam
    return kind(params, lr=lr, betas=ADAM_BETAS, eps=ADAM_EPS, weight_decay=decay, **kernels)


def make_scheduler(torch: Any, optimizer: Any, recipe: Recipe, total: int) -> Any:
    """The per-step scheduler of `recipe` over `total` steps (None for a constant rate)."""
    sched = torch.optim.lr_scheduler
    warmup, parts = recipe.warmup_steps, []
    if warmup:
        parts.append(
            sched.LinearLR(
                optimizer, start_factor=1 / warmup, end_factor=1.0, total_iters=max(warmup - 1, 1)
            )
        )
    span = total - warmup
    if recipe.lr_schedule == "linear":
        parts.append(sched.LinearLR(optimizer, start_factor=1.0, end_factor=0.0, total_iters=span))
    elif recipe.lr_schedule == "cosine":
        parts.append(sched.CosineAnnealingLR(optimizer, T_max=span))
    if len(parts) < 2:
        return parts[0] if parts else None
    return sched.SequentialLR(optimizer, parts, milestones=[warmup])


def kernels_in_effect(optimizer: Any) -> str:
    """`fused`, `foreach` or `for-loop`: what the optimizer's step runs (for `default`, what
    torch picks for these parameters)."""
    defaults = optimizer.defaults
    if defaults.get("fused"):
        return "fused"
    if defaults.get("foreach") is not None:
        return "foreach" if defaults["foreach"] else "for-loop"
    try:
        from torch.optim.optimizer import _default_to_fused_or_foreach
    except ImportError:  # a torch without the helper: say what was asked
        return "default"
    params = [p for group in optimizer.param_groups for p in group["params"]]
    _, foreach = _default_to_fused_or_foreach(params, differentiable=False, use_fused=False)
    return "foreach" if foreach else "for-loop"


class TorchRecipe:
    """One trial's optimizer, clipping and scheduler; `clip` runs between backward and step,
    `scheduled` after the step."""

    def __init__(self, torch: Any, params: list[Any], recipe: Recipe, total: int) -> None:
        self.torch, self.recipe, self.params = torch, recipe, params
        self.optimizer = make_optimizer(torch, params, recipe)
        self.scheduler = make_scheduler(torch, self.optimizer, recipe, total)
        self.clip: Callable[[], Any] | None = self._clip if recipe.clip_grad_norm else None

    def _clip(self) -> Any:
        norm = self.recipe.clip_grad_norm
        return self.torch.nn.utils.clip_grad_norm_(self.params, norm)

    def scheduled(self) -> None:
        """After `optimizer.step()`: advance the learning rate by one step."""
        if self.scheduler is not None:
            self.scheduler.step()

    def settings(self) -> dict[str, Any]:
        """What ran, as settings.csv records it."""
        opt, sched = self.optimizer, self.scheduler
        group = opt.param_groups[0]
        chain = getattr(sched, "_schedulers", [sched] if sched is not None else [])
        clip = self.recipe.clip_grad_norm
        return {
            "optimizer.recipe": self.recipe.describe(),
            "optimizer.class": f"torch.optim.{type(opt).__name__}",
            "optimizer.implementation": kernels_in_effect(opt),
            "optimizer.weight_decay": group.get("weight_decay", 0),
            "optimizer.momentum": group.get("momentum", ""),
            "optimizer.eps": group.get("eps", ""),
            "optimizer.clip": f"clip_grad_norm_(max_norm={clip:g})" if clip else "none",
            "optimizer.lr_schedule": " → ".join(type(s).__name__ for s in chain) or "constant",
        }
