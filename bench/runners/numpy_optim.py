"""The optimizer recipe (`bench.contract.recipe`) in NumPy: torch's update rules over one flat
parameter buffer, gradient clipping and the learning-rate schedule.

- `SGD`: `torch.optim.SGD` — g ← g + wd·p (weight decay), with momentum μ buf ← μ·buf + g
  (the first buf is g itself), p ← p − lr·buf (plain: p ← p − lr·g).
- `Adam`: `torch.optim.Adam` (single-tensor path, no amsgrad) — g ← g + wd·p, then
  m ← m + (1 − β₁)(g − m); v ← β₂v + (1 − β₂)g²;
  p ← p − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε); `decoupled` (AdamW) instead decays
  p ← p·(1 − lr·wd) before the update and leaves g alone.
- `NumpyRecipe`: each step clips the gradients as `torch.nn.utils.clip_grad_norm_` does (× c /
  (‖g‖ + 1e-6) when that is below 1; ‖g‖ the L2 norm of the whole flat buffer, every parameter
  at once) and hands the rule the step's learning rate, `Recipe.lr` (the schedule's one
  definition).

Each update is a dozen whole-buffer operations with scratch arrays kept across steps; the
state (momentum buffer, moments) appears at the first step, as torch's does.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from bench.contract.recipe import ADAM_BETAS, ADAM_EPS, CLIP_EPS, Recipe

F32 = np.float32


class SGD:
    """torch.optim.SGD: weight decay as an L2 term, momentum with torch's buffer."""

    def __init__(
        self, params: np.ndarray, lr: float, momentum: float = 0.0, weight_decay: float = 0.0
    ) -> None:
        self.params, self.lr = params, lr
        self.momentum, self.weight_decay = momentum, weight_decay
        self.scratch = np.empty_like(params)
        self.buf: np.ndarray | None = None

    def step(self, grads: np.ndarray, lr: float | None = None) -> None:
        lr = self.lr if lr is None else lr
        g = grads
        if self.weight_decay:  # g + wd·p
            np.multiply(self.params, F32(self.weight_decay), out=self.scratch)
            self.scratch += grads
            g = self.scratch
        if self.momentum:
            if self.buf is None:
                self.buf = g.copy()
            else:
                self.buf *= F32(self.momentum)
                self.buf += g
            g = self.buf
        np.multiply(g, F32(lr), out=self.scratch)
        self.params -= self.scratch


class Adam:
    """torch.optim.Adam (betas, eps as given; bias correction as torch applies it); with
    `decoupled`, torch.optim.AdamW."""

    def __init__(
        self,
        params: np.ndarray,
        lr: float,
        betas: tuple[float, float] = ADAM_BETAS,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled: bool = False,
    ) -> None:
        self.params, self.lr, self.betas, self.eps = params, lr, betas, eps
        self.weight_decay, self.decoupled = weight_decay, decoupled
        self.t = 0
        self.m: np.ndarray | None = None  # created at the first step, as torch does
        self.v: np.ndarray | None = None
        self.scratch: np.ndarray | None = None
        self.coupled: np.ndarray | None = None

    def _decay(self, grads: np.ndarray, lr: float) -> np.ndarray:
        """AdamW: p ← p·(1 − lr·wd), g unchanged; Adam: g + wd·p."""
        if not self.weight_decay:
            return grads
        if self.decoupled:
            self.params *= F32(1 - lr * self.weight_decay)
            return grads
        if self.coupled is None:
            self.coupled = np.empty_like(self.params)
        np.multiply(self.params, F32(self.weight_decay), out=self.coupled)
        self.coupled += grads
        return self.coupled

    def step(self, grads: np.ndarray, lr: float | None = None) -> None:
        lr = self.lr if lr is None else lr
        if self.m is None:
            self.m, self.v, self.scratch = (np.zeros_like(self.params) for _ in range(3))
        grads = self._decay(grads, lr)
        m, v, tmp = self.m, self.v, self.scratch
        beta1, beta2 = self.betas
        self.t += 1
        np.subtract(grads, m, out=tmp)  # m.lerp_(g, 1 − β₁)
        tmp *= F32(1 - beta1)
        m += tmp
        v *= F32(beta2)  # v.mul_(β₂).addcmul_(g, g, 1 − β₂)
        np.multiply(grads, grads, out=tmp)
        tmp *= F32(1 - beta2)
        v += tmp
        step_size = lr / (1 - beta1**self.t)
        np.sqrt(v, out=tmp)  # denom = √v / √(1 − β₂ᵗ) + ε
        tmp /= F32(math.sqrt(1 - beta2**self.t))
        tmp += F32(self.eps)
        np.divide(m, tmp, out=tmp)  # p.addcdiv_(m, denom, −step_size)
        tmp *= F32(step_size)
        self.params -= tmp


def clip_grad_norm(grads: np.ndarray, max_norm: float) -> float:
    """Scale `grads` in place so that their L2 norm is at most `max_norm`, as
    `torch.nn.utils.clip_grad_norm_` does; return the norm before clipping."""
    norm = float(np.linalg.norm(grads))
    coef = max_norm / (norm + CLIP_EPS)
    if coef < 1:
        grads *= F32(coef)
    return norm


def make_rule(params: np.ndarray, recipe: Recipe) -> SGD | Adam:
    """The update rule of `recipe` over the flat parameter buffer."""
    lr, decay = recipe.learning_rate, recipe.weight_decay
    if recipe.optimizer == "sgd":
        return SGD(params, lr, recipe.momentum, decay)
    return Adam(params, lr, eps=ADAM_EPS, weight_decay=decay, decoupled=recipe.optimizer == "adamw")


class NumpyRecipe:
    """One trial's optimizer: clip, then the rule's update at the step's scheduled rate."""

    def __init__(self, params: np.ndarray, recipe: Recipe, total: int) -> None:
        self.recipe, self.total, self.k = recipe, total, 0
        self.rule = make_rule(params, recipe)

    def step(self, grads: np.ndarray) -> None:
        if self.recipe.clip_grad_norm:
            clip_grad_norm(grads, self.recipe.clip_grad_norm)
        lr = self.recipe.lr(self.k, self.total)
        self.k += 1
        self.rule.step(grads, lr)

    def settings(self) -> dict[str, Any]:
        """What ran, as settings.csv records it."""
        recipe, name = self.recipe, {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD"}
        clip = recipe.clip_grad_norm
        return {
            "optimizer.recipe": recipe.describe(),
            "optimizer.class": f"torch.optim.{name[recipe.optimizer]}'s update in NumPy",
            "optimizer.implementation": "whole-buffer NumPy operations on one flat buffer",
            "optimizer.weight_decay": recipe.weight_decay,
            "optimizer.momentum": recipe.momentum if recipe.optimizer == "sgd" else "",
            "optimizer.eps": ADAM_EPS if recipe.optimizer != "sgd" else "",
            "optimizer.clip": f"global L2 norm ≤ {clip:g}" if clip else "none",
            "optimizer.lr_schedule": (
                f"{recipe.lr_schedule}, warmup_steps={recipe.warmup_steps}"
                if recipe.scheduled
                else "constant"
            ),
        }
