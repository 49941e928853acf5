"""Framework-neutral model description: layer dataclasses and ModelSpec.

This module imports nothing (no torch, keras or numpy) so the harness parent can read, list
and size models without loading a framework. Builders in ``torch_build`` / ``keras_build``
turn a ``ModelSpec`` into a network; ``flops`` computes shapes, parameters and FLOPs from it.

Conventions:
- ``ModelSpec.input_shape`` is (H, W, C) for images, or a 1-tuple (N,) for flat vectors.
- The final Dense produces logits; there is no softmax layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Padding = Literal["same", "valid"]


@dataclass(frozen=True, slots=True)
class Conv:
    """2-D convolution with a square kernel.

    ``padding="same"`` follows Keras/TF: output ``ceil(size / stride)``, padding split with the
    extra pixel after (bottom/right) when the total is odd. ``"valid"`` pads nothing.
    """

    filters: int
    kernel: int
    stride: int = 1
    padding: Padding = "same"
    bias: bool = True


@dataclass(frozen=True, slots=True)
class SeparableConv:
    """Depthwise ``kernel`` x ``kernel`` conv (``depth_multiplier`` per channel, strided, no bias)
    followed by a pointwise 1x1 conv to ``filters`` (with bias if ``bias``): Keras SeparableConv2D.
    """

    filters: int
    kernel: int
    stride: int = 1
    padding: Padding = "same"
    bias: bool = True
    depth_multiplier: int = 1


@dataclass(frozen=True, slots=True)
class BatchNorm:
    """Batch normalization over the channel (last) axis, with learned scale and offset.

    ``momentum`` uses the **Keras** convention: ``running = momentum * running + (1 - momentum)
    * batch_stat``. PyTorch's ``momentum`` is the weight of the *new* statistic, so the torch
    builder passes ``1 - momentum``. ``epsilon`` is added to the variance in both frameworks, but
    their defaults differ (Keras 1e-3, torch 1e-5), so builders always pass it explicitly.
    Defaults here are Keras's. Parameters: gamma and beta (trainable), moving mean and variance
    (non-trainable).
    """

    momentum: float = 0.99
    epsilon: float = 1e-3


@dataclass(frozen=True, slots=True)
class MaxPool:
    """Max pooling, square window; ``stride=None`` means ``size``; padding as in ``Conv``
    (``"valid"``: floor rounding; ``"same"``: padded positions never win)."""

    size: int
    stride: int | None = None
    padding: Padding = "valid"


@dataclass(frozen=True, slots=True)
class AvgPool:
    """Average pooling, square window; ``stride=None`` means ``size``. With ``"same"`` padding,
    padded positions are excluded from the average (Keras/TF behaviour)."""

    size: int
    stride: int | None = None
    padding: Padding = "valid"


@dataclass(frozen=True, slots=True)
class GlobalAvgPool:
    """Mean over H and W: (H, W, C) -> (C,)."""


@dataclass(frozen=True, slots=True)
class ReLU:
    """Elementwise max(x, 0)."""


@dataclass(frozen=True, slots=True)
class Flatten:
    """Flatten (H, W, C) to (H*W*C,); the element order is the framework's own (torch C,H,W;
    Keras H,W,C), which ``models.transfer`` accounts for when copying weights."""


@dataclass(frozen=True, slots=True)
class Dense:
    """Fully connected layer on a flat vector."""

    units: int
    bias: bool = True


@dataclass(frozen=True, slots=True)
class Dropout:
    """Zero a ``rate`` fraction of elements in training (scaling the rest); inference: identity."""

    rate: float


@dataclass(frozen=True, slots=True)
class Residual:
    """``body(x) + shortcut(x)``; an empty ``shortcut`` is the identity. Shapes must match."""

    body: tuple[Layer, ...]
    shortcut: tuple[Layer, ...] = ()


Layer = (
    Conv
    | SeparableConv
    | BatchNorm
    | MaxPool
    | AvgPool
    | GlobalAvgPool
    | ReLU
    | Flatten
    | Dense
    | Dropout
    | Residual
)


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A whole network: an ordered stack of layers applied to ``input_shape``.

    ``frozen_layers``: the first that many top-level layers form a frozen backbone: their
    parameters are not trainable and their BatchNorm layers stay in inference mode (Keras
    ``trainable=False`` semantics), so only the head trains.
    """

    name: str
    input_shape: tuple[int, ...]  # (H, W, C), or (N,) for flat input
    classes: int
    layers: tuple[Layer, ...]
    description: str = ""
    frozen_layers: int = 0


#: The spec vocabulary by name: every layer a ModelSpec may hold.
LAYER_TYPES: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        Conv,
        SeparableConv,
        BatchNorm,
        MaxPool,
        AvgPool,
        GlobalAvgPool,
        ReLU,
        Flatten,
        Dense,
        Dropout,
        Residual,
    )
}


def layer_type(name: str) -> type:
    """The layer class called ``name`` (any letter case), or ``ValueError`` naming the
    vocabulary: the one "unknown layer" error of spec files and TOML layer lists alike."""
    for known, cls in LAYER_TYPES.items():
        if known.lower() == str(name).lower():
            return cls
    raise ValueError(f"unknown layer {name!r}; the layers of models.spec are: {vocabulary()}")


def vocabulary() -> str:
    """The layer names, comma-separated, for error messages."""
    return ", ".join(LAYER_TYPES)
