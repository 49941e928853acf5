"""Analytic output shapes, parameter counts and FLOPs of a ``ModelSpec`` (no framework imports).

Shapes are (H, W, C) for feature maps and (N,) for flat vectors. FLOPs are per sample, forward
pass in inference mode, counted as follows (a multiply-add is 2 FLOPs):

- Conv: ``2*Hout*Wout*Cout*k*k*Cin`` plus ``Hout*Wout*Cout`` for the bias add if ``bias``.
  Zero padding is counted as if it were data (the frameworks do the same work).
- SeparableConv: depthwise ``2*Hout*Wout*Cin*m*k*k`` plus pointwise ``2*Hout*Wout*F*Cin*m``
  (``m`` the depth multiplier, ``F`` the filters) plus ``Hout*Wout*F`` for the bias.
- Dense: ``2*in*out`` plus ``out`` for the bias.
- BatchNorm: 2 per element (inference: one multiply and one add after folding).
- ReLU: 1 per element. Dropout: 0 (identity in inference). Flatten: 0.
- MaxPool / AvgPool: ``output elements * size**2`` (one comparison or add per window element).
- GlobalAvgPool: ``H*W*C`` (one add per input element).
- Residual: body + shortcut + 1 per output element for the add.

``matmul_flops`` is the conv/dense part alone (multiply-adds, no bias): exactly what
``torch.utils.flop_counter.FlopCounterMode`` counts, so the two can be compared directly.

``train_flops`` is forward + 2x the forward FLOPs of the trainable layers (activation and weight
gradients): the usual 3x forward when nothing is frozen; a frozen backbone needs no backward.

Parameters: Conv ``k*k*Cin*Cout (+Cout)``; SeparableConv ``k*k*Cin*m + Cin*m*F (+F)``; Dense
``in*out (+out)``; BatchNorm ``2C`` trainable (gamma, beta) + ``2C`` non-trainable (moving mean
and variance). Layers in a frozen backbone (``spec.frozen_layers``) count as non-trainable.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil, prod

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
    vocabulary,
)

Shape = tuple[int, ...]


@dataclass(frozen=True, slots=True)
class LayerRow:
    """One top-level layer's analytic figures (per sample, forward)."""

    index: int
    kind: str
    output_shape: Shape
    params: int
    flops: int
    trainable: int = 0  # trainable parameters
    matmul_flops: int = 0  # conv/dense multiply-adds only (what FlopCounterMode counts)


@dataclass(frozen=True, slots=True)
class _Cost:
    shape: Shape
    params: int = 0
    non_trainable: int = 0  # part of params that is never trainable (BatchNorm moving stats)
    flops: int = 0
    matmul: int = 0


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """Keras/TF ``"same"`` padding (before, after) along one axis; the extra pixel goes after."""
    out = ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _spatial(size: int, kernel: int, stride: int, padding: str) -> int:
    if padding == "same":
        return ceil(size / stride)
    if padding == "valid":
        return (size - kernel) // stride + 1
    raise ValueError(f"padding must be 'same' or 'valid', got {padding!r}")


def _need_map(layer: Layer, shape: Shape) -> tuple[int, int, int]:
    if len(shape) != 3:
        raise ValueError(f"{type(layer).__name__} needs an (H, W, C) input, got shape {shape}")
    return shape  # type: ignore[return-value]


def _window(layer: Layer, shape: Shape, kernel: int, stride: int, padding: str, c: int) -> Shape:
    h, w, _ = _need_map(layer, shape)
    out = (_spatial(h, kernel, stride, padding), _spatial(w, kernel, stride, padding), c)
    if any(d < 1 for d in out):
        raise ValueError(
            f"{type(layer).__name__} turns input {shape} into non-positive shape {out}; "
            "the input is too small for this model"
        )
    return out


def _conv(layer: Conv, shape: Shape) -> _Cost:
    cin, k = _need_map(layer, shape)[2], layer.kernel
    out = _window(layer, shape, k, layer.stride, layer.padding, layer.filters)
    bias = prod(out) if layer.bias else 0
    matmul = 2 * prod(out) * k * k * cin
    params = k * k * cin * layer.filters + (layer.filters if layer.bias else 0)
    return _Cost(out, params, 0, matmul + bias, matmul)


def _separable(layer: SeparableConv, shape: Shape) -> _Cost:
    cin, k, m = _need_map(layer, shape)[2], layer.kernel, layer.depth_multiplier
    out = _window(layer, shape, k, layer.stride, layer.padding, layer.filters)
    hw = out[0] * out[1]
    matmul = 2 * hw * cin * m * k * k + 2 * hw * layer.filters * cin * m
    bias = prod(out) if layer.bias else 0
    params = k * k * cin * m + cin * m * layer.filters + (layer.filters if layer.bias else 0)
    return _Cost(out, params, 0, matmul + bias, matmul)


def _pool(layer: MaxPool | AvgPool, shape: Shape) -> _Cost:
    stride = layer.stride or layer.size
    out = _window(layer, shape, layer.size, stride, layer.padding, shape[-1])
    return _Cost(out, flops=prod(out) * layer.size**2)


def _dense(layer: Dense, shape: Shape) -> _Cost:
    if len(shape) != 1:
        raise ValueError(f"Dense needs a flat (N,) input (add Flatten), got shape {shape}")
    n, bias = shape[0], (layer.units if layer.bias else 0)
    return _Cost(
        (layer.units,), n * layer.units + bias, 0, 2 * n * layer.units + bias, 2 * n * layer.units
    )


def _residual(layer: Residual, shape: Shape) -> _Cost:
    if any(isinstance(sub, Residual) for sub in layer.body + layer.shortcut):
        raise ValueError("a Residual inside a Residual is not supported")
    body, short = _stack(layer.body, shape), _stack(layer.shortcut, shape)
    if body.shape != short.shape:
        raise ValueError(f"Residual body gives {body.shape} but shortcut gives {short.shape}")
    return _Cost(
        body.shape,
        body.params + short.params,
        body.non_trainable + short.non_trainable,
        body.flops + short.flops + prod(body.shape),
        body.matmul + short.matmul,
    )


def _stack(layers: tuple[Layer, ...], shape: Shape) -> _Cost:
    total = _Cost(shape)
    for layer in layers:
        cost = _cost(layer, total.shape)
        total = _Cost(
            cost.shape,
            total.params + cost.params,
            total.non_trainable + cost.non_trainable,
            total.flops + cost.flops,
            total.matmul + cost.matmul,
        )
    return total


def _cost(layer: Layer, shape: Shape) -> _Cost:
    match layer:
        case Conv():
            return _conv(layer, shape)
        case SeparableConv():
            return _separable(layer, shape)
        case MaxPool() | AvgPool():
            return _pool(layer, shape)
        case Dense():
            return _dense(layer, shape)
        case BatchNorm():
            c = shape[-1]
            return _Cost(shape, 4 * c, 2 * c, 2 * prod(shape))
        case GlobalAvgPool():
            return _Cost((_need_map(layer, shape)[2],), flops=prod(shape))
        case ReLU():
            return _Cost(shape, flops=prod(shape))
        case Dropout():
            return _Cost(shape)
        case Flatten():
            return _Cost((prod(shape),))
        case Residual():
            return _residual(layer, shape)
    raise TypeError(
        f"unknown layer {type(layer).__name__!r}; the layers of models.spec are: {vocabulary()}"
    )


def layer_output_shape(layer: Layer, shape: Shape) -> Shape:
    """Output shape of one layer (which may be a ``Residual``) applied to ``shape``."""
    return _cost(layer, tuple(shape)).shape


def layer_table(spec: ModelSpec) -> list[LayerRow]:
    """Per top-level layer: output shape, parameters, FLOPs; ``ValueError`` on bad shapes."""
    if not 0 <= spec.frozen_layers <= len(spec.layers):
        raise ValueError(f"frozen_layers={spec.frozen_layers} outside 0..{len(spec.layers)}")
    shape: Shape = tuple(spec.input_shape)
    rows = []
    for index, layer in enumerate(spec.layers):
        cost = _cost(layer, shape)
        trainable = 0 if index < spec.frozen_layers else cost.params - cost.non_trainable
        kind = type(layer).__name__
        rows.append(
            LayerRow(index, kind, cost.shape, cost.params, cost.flops, trainable, cost.matmul)
        )
        shape = cost.shape
    return rows


def output_shape(spec: ModelSpec) -> Shape:
    """Shape of one sample's output (``(classes,)`` for a well-formed classifier)."""
    rows = layer_table(spec)
    return rows[-1].output_shape if rows else tuple(spec.input_shape)


def param_count(spec: ModelSpec) -> int:
    """Total parameters (trainable and not)."""
    return sum(row.params for row in layer_table(spec))


def trainable_param_count(spec: ModelSpec) -> int:
    """Trainable parameters (excludes BatchNorm moving statistics and a frozen backbone)."""
    return sum(row.trainable for row in layer_table(spec))


def param_counts(spec: ModelSpec) -> tuple[int, int]:
    """(trainable, non_trainable) parameters."""
    rows = layer_table(spec)
    trainable = sum(row.trainable for row in rows)
    return trainable, sum(row.params for row in rows) - trainable


def forward_flops(spec: ModelSpec) -> int:
    """Forward FLOPs per sample (see the module docstring for what is counted)."""
    return sum(row.flops for row in layer_table(spec))


def matmul_flops(spec: ModelSpec) -> int:
    """Conv/dense multiply-add FLOPs per sample, no bias: what ``FlopCounterMode`` counts."""
    return sum(row.matmul_flops for row in layer_table(spec))


def train_flops(spec: ModelSpec) -> int:
    """Training FLOPs per sample: forward + 2x forward of the layers after the frozen backbone."""
    rows = layer_table(spec)
    return sum(r.flops for r in rows) + 2 * sum(r.flops for r in rows[spec.frozen_layers :])
