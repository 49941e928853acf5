"""Build a ``torch.nn.Module`` from a ``ModelSpec``: NCHW input (N, C, H, W), logits (N, classes).

Imports torch at the top: only a trial's child process (or a test) imports this module. Layer
sizes come from the analytic shape walk in ``models.flops``, so a spec that does not fit its
input shape fails there with a clear ``ValueError``.

Structure (relied on by ``models.transfer``): the model is a ``SpecSequential`` with exactly one
module per top-level spec layer; a ``Residual`` is a ``ResidualBlock`` whose ``body`` and
``shortcut`` are ``nn.Sequential``s with one module per spec layer. Keras ``"same"`` padding is
reproduced exactly: symmetric padding goes to the conv/pool itself, asymmetric padding (stride > 1,
odd total) becomes an explicit pad module before it (zeros for convs, -inf for max pooling).
"""

from __future__ import annotations

import torch
from torch import nn

from models.flops import Shape, layer_output_shape, layer_table, same_padding
from models.spec import (
    AvgPool,
    BatchNorm,
    Conv,
    Dense,
    Dropout,
    Flatten,
    GlobalAvgPool,
    Layer,
    MaxPool,
    ModelSpec,
    ReLU,
    Residual,
    SeparableConv,
)


class SpecSequential(nn.Sequential):
    """``nn.Sequential`` whose first ``frozen_layers`` modules stay in eval mode and frozen."""

    def __init__(self, *modules: nn.Module, frozen_layers: int = 0) -> None:
        super().__init__(*modules)
        self.frozen_layers = frozen_layers
        for module in list(self)[:frozen_layers]:
            module.requires_grad_(False)
        self.train()

    def train(self, mode: bool = True) -> SpecSequential:
        super().train(mode)
        for module in list(self)[: self.frozen_layers]:
            module.eval()  # frozen BatchNorm uses its moving statistics, as in Keras
        return self


class ResidualBlock(nn.Module):
    """``body(x) + shortcut(x)``; an empty shortcut is the identity."""

    def __init__(self, body: nn.Sequential, shortcut: nn.Sequential) -> None:
        super().__init__()
        self.body = body
        self.shortcut = shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.shortcut(x)


class SeparableConv2d(nn.Module):
    """Depthwise conv (groups = in channels, no bias) then pointwise 1x1 conv."""

    def __init__(self, depthwise: nn.Conv2d, pointwise: nn.Conv2d, pad: nn.Module) -> None:
        super().__init__()
        self.pad = pad
        self.depthwise = depthwise
        self.pointwise = pointwise

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(self.pad(x)))


class GlobalAvgPool2d(nn.Module):
    """(N, C, H, W) -> (N, C) mean over H and W."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


def _padding(shape: Shape, kernel: int, stride: int, padding: str) -> tuple[int, int, int, int]:
    """(left, right, top, bottom) padding, Keras semantics."""
    if padding == "valid":
        return 0, 0, 0, 0
    top, bottom = same_padding(shape[0], kernel, stride)
    left, right = same_padding(shape[1], kernel, stride)
    return left, right, top, bottom


def _split(pad: tuple[int, int, int, int], value: float) -> tuple[nn.Module, tuple[int, int]]:
    """An explicit pad module when asymmetric, else identity plus the symmetric (h, w) padding."""
    left, right, top, bottom = pad
    if left == right and top == bottom:
        return nn.Identity(), (top, left)
    return nn.ConstantPad2d(pad, value), (0, 0)


def _conv(layer: Conv, shape: Shape) -> nn.Module:
    pad, sym = _split(_padding(shape, layer.kernel, layer.stride, layer.padding), 0.0)
    conv = nn.Conv2d(shape[2], layer.filters, layer.kernel, layer.stride, sym, bias=layer.bias)
    return conv if isinstance(pad, nn.Identity) else nn.Sequential(pad, conv)


def _separable(layer: SeparableConv, shape: Shape) -> nn.Module:
    cin, mid = shape[2], shape[2] * layer.depth_multiplier
    pad, sym = _split(_padding(shape, layer.kernel, layer.stride, layer.padding), 0.0)
    depthwise = nn.Conv2d(cin, mid, layer.kernel, layer.stride, sym, groups=cin, bias=False)
    return SeparableConv2d(depthwise, nn.Conv2d(mid, layer.filters, 1, bias=layer.bias), pad)


def _pool(layer: MaxPool | AvgPool, shape: Shape) -> nn.Module:
    stride = layer.stride or layer.size
    lrtb = _padding(shape, layer.size, stride, layer.padding)
    if isinstance(layer, MaxPool):
        pad, sym = _split(lrtb, float("-inf"))
        pool = nn.MaxPool2d(layer.size, stride, sym)
        return pool if isinstance(pad, nn.Identity) else nn.Sequential(pad, pool)
    if lrtb[0] != lrtb[1] or lrtb[2] != lrtb[3]:
        raise ValueError(f"AvgPool 'same' with asymmetric padding {lrtb} is not supported")
    return nn.AvgPool2d(layer.size, stride, (lrtb[2], lrtb[0]), count_include_pad=False)


def _batchnorm(layer: BatchNorm, shape: Shape) -> nn.Module:
    kind = nn.BatchNorm2d if len(shape) == 3 else nn.BatchNorm1d
    # Keras momentum weights the old statistic; torch momentum weights the new one.
    return kind(shape[-1], eps=layer.epsilon, momentum=1.0 - layer.momentum)


def _sequential(layers: tuple[Layer, ...], shape: Shape) -> tuple[list[nn.Module], Shape]:
    modules = []
    for layer in layers:
        modules.append(_module(layer, shape))
        shape = layer_output_shape(layer, shape)
    return modules, shape


def _module(layer: Layer, shape: Shape) -> nn.Module:
    match layer:
        case Conv():
            return _conv(layer, shape)
        case SeparableConv():
            return _separable(layer, shape)
        case MaxPool() | AvgPool():
            return _pool(layer, shape)
        case BatchNorm():
            return _batchnorm(layer, shape)
        case Dense():
            return nn.Linear(shape[0], layer.units, bias=layer.bias)
        case ReLU():
            return nn.ReLU()  # not in-place: a Residual's shortcut may still need its input
        case Dropout():
            return nn.Dropout(layer.rate)
        case GlobalAvgPool():
            return GlobalAvgPool2d()
        case Flatten():
            return nn.Flatten()
        case Residual():
            body, _ = _sequential(layer.body, shape)
            shortcut, _ = _sequential(layer.shortcut, shape)
            return ResidualBlock(nn.Sequential(*body), nn.Sequential(*shortcut))
    raise TypeError(f"torch builder: unsupported layer {type(layer).__name__}")


def build(spec: ModelSpec, seed: int | None = None) -> SpecSequential:
    """Return the model for ``spec``, in training mode: with the initial weights that
    ``models.initial`` draws from ``seed`` (the same as the Keras build's), or PyTorch's own
    default initialization when ``seed`` is None."""
    layer_table(spec)  # validate the whole spec first, with a clear error
    modules, _ = _sequential(spec.layers, tuple(spec.input_shape))
    model = SpecSequential(*modules, frozen_layers=spec.frozen_layers)
    if seed is not None:
        from models.initial import load_torch

        load_torch(model, spec, seed)
    return model


def count_params(module: nn.Module) -> tuple[int, int]:
    """(trainable, non_trainable): parameters with ``requires_grad``; the rest plus buffers.

    BatchNorm's ``num_batches_tracked`` step counter is not a weight and is not counted.
    """
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in module.parameters() if not p.requires_grad)
    buffers = sum(
        b.numel() for name, b in module.named_buffers() if not name.endswith("num_batches_tracked")
    )
    return trainable, frozen + buffers


def input_tensor(spec: ModelSpec, batch: int, fill: float = 0.0) -> torch.Tensor:
    """A constant NCHW (or (N, F)) input batch for ``spec``."""
    shape = tuple(spec.input_shape)
    if len(shape) == 3:
        shape = (shape[2], shape[0], shape[1])
    return torch.full((batch, *shape), fill)
