"""A `ModelSpec` as a stack of NumPy layers (`numpy_layers`) and its loss (softmax cross-entropy
on the logits, mean over the batch); the optimizers are in `numpy_optim`.

`Network(spec, seed)` starts from exactly the arrays `models.initial.draw(spec, seed)` yields
(Keras layouts), as the torch and Keras builds do, so all three start bit-identical. The
trainable parameters live in one flat float32 buffer and their gradients in another (each
layer's parameters and gradients are views of them), so an optimizer step is a handful of
whole-buffer operations instead of a loop over tensors. Layers of a frozen backbone
(`spec.frozen_layers`) keep their parameters apart and are never updated; backward stops at the
lowest trained layer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.runners import numpy_layers as nl
from models import spec as S
from models.initial import draw

F32 = np.float32


def make_layer(
    layer: S.Layer, shape: tuple[int, ...], params: list[np.ndarray], rng: np.random.Generator
) -> Any:
    """The NumPy layer for one spec layer with input `shape` and its parameter arrays."""
    match layer:
        case S.Conv():
            return nl.Conv2D(params, layer.stride, layer.padding, shape)
        case S.MaxPool():
            return nl.MaxPool2D(layer.size, layer.stride or layer.size, layer.padding, shape)
        case S.ReLU():
            return nl.ReLU()
        case S.Flatten():
            return nl.Flatten(shape)
        case S.Dense():
            return nl.Dense(params)
        case S.Dropout():
            return nl.Dropout(layer.rate, rng)
        case S.GlobalAvgPool():
            return nl.GlobalAvgPool(shape)
    raise TypeError(f"the numpy runner has no {type(layer).__name__} layer")


def _views(arrays: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """One flat float32 buffer holding `arrays`, and a view of it shaped like each."""
    flat = np.empty(sum(a.size for a in arrays), F32)
    views, start = [], 0
    for a in arrays:
        view = flat[start : start + a.size].reshape(a.shape)
        view[...] = a
        views.append(view)
        start += a.size
    return flat, views


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[Any, np.ndarray]:
    """Mean softmax cross-entropy of logits (N, K) against integer labels, and its gradient
    with respect to the logits: (softmax − one-hot) / N."""
    n = len(labels)
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    total = exp.sum(axis=1, keepdims=True)
    rows = np.arange(n)
    loss = np.mean(np.log(total[:, 0]) - shifted[rows, labels])
    grad = exp / total
    grad[rows, labels] -= 1
    grad /= F32(n)
    return loss, grad


class Network:
    """The spec's layers in order; trainable parameters and gradients in flat buffers."""

    def __init__(self, spec: S.ModelSpec, seed: int) -> None:
        drawn = list(draw(spec, seed))
        if any(len(path) > 1 for path, *_ in drawn):
            raise TypeError("the numpy runner has no Residual layer")
        trained = [i >= spec.frozen_layers for i in range(len(drawn))]
        kept = [a for (_, _, _, arrays), t in zip(drawn, trained, strict=True) if t for a in arrays]
        self.params, views = _views(kept)
        self.grads, grad_views = _views([np.zeros_like(a) for a in kept])
        rng = np.random.default_rng((seed, 1))  # dropout masks: apart from the weights' stream
        self.layers, self.frozen = [], 0
        for (_, layer, shape, arrays), train in zip(drawn, trained, strict=True):
            params = [views.pop(0) for _ in arrays] if train else [a.copy() for a in arrays]
            built = make_layer(layer, shape, params, rng)
            if train:
                built.grads = [grad_views.pop(0) for _ in arrays]
            self.frozen += 0 if train else sum(a.size for a in arrays)
            self.layers.append(built)
        with_params = [i for i, layer in enumerate(self.layers) if trained[i] and layer.params]
        self.lowest = with_params[0] if with_params else len(self.layers)
        self.frozen_layers = spec.frozen_layers

    def counts(self) -> tuple[int, int]:
        """(trainable, non-trainable) parameter counts."""
        return self.params.size, self.frozen

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        """The logits; a frozen backbone always runs in inference mode, as in torch_build."""
        for index, layer in enumerate(self.layers):
            x = layer.forward(x, training and index >= self.frozen_layers)
        return x

    def backward(self, dlogits: np.ndarray) -> None:
        """Gradients of every trained parameter into `grads`, from the loss's gradient."""
        dy = dlogits
        for index in range(len(self.layers) - 1, self.lowest - 1, -1):
            dy = self.layers[index].backward(dy, need_dx=index > self.lowest)

    def train_step(self, x: np.ndarray, y: np.ndarray) -> tuple[Any, np.ndarray]:
        """Forward in training mode, the loss, backward: (loss, logits); gradients in `grads`."""
        logits = self.forward(x, training=True)
        loss, dlogits = softmax_cross_entropy(logits, y)
        self.backward(dlogits)
        return loss, logits
