"""Build a ``keras.Model`` from a ``ModelSpec``: NHWC input (N, H, W, C), logits (N, classes).

Keras 3 API (``import keras``), so the model runs on whichever backend ``KERAS_BACKEND``
selects. Imports keras at the top: only a trial's child process (or a test) imports this module.

Every Keras layer is named after its place in the spec (``layer_name``): top-level layer ``i`` is
``L003``; the ``j``-th layer of a Residual's body / shortcut is ``L003_b01`` / ``L003_s00``.
``models.transfer`` finds layers by these names. Layers of a frozen backbone get
``trainable=False``, which in Keras 3 also keeps their BatchNorm in inference mode.
"""

from __future__ import annotations

from math import prod

import keras
from keras import layers as kl

from models.flops import layer_table
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


def layer_name(index: int, branch: str = "", sub: int = 0) -> str:
    """Name of spec layer ``index`` (or of layer ``sub`` in its Residual ``branch`` 'b' / 's')."""
    return f"L{index:03d}" + (f"_{branch}{sub:02d}" if branch else "")


def _layer(layer: Layer, name: str) -> keras.Layer:
    match layer:
        case Conv():
            return kl.Conv2D(
                layer.filters,
                layer.kernel,
                strides=layer.stride,
                padding=layer.padding,
                use_bias=layer.bias,
                name=name,
            )
        case SeparableConv():
            return kl.SeparableConv2D(
                layer.filters,
                layer.kernel,
                strides=layer.stride,
                padding=layer.padding,
                depth_multiplier=layer.depth_multiplier,
                use_bias=layer.bias,
                name=name,
            )
        case MaxPool():
            stride = layer.stride or layer.size
            return kl.MaxPooling2D(layer.size, stride, padding=layer.padding, name=name)
        case AvgPool():
            stride = layer.stride or layer.size
            return kl.AveragePooling2D(layer.size, stride, padding=layer.padding, name=name)
        case BatchNorm():
            return kl.BatchNormalization(momentum=layer.momentum, epsilon=layer.epsilon, name=name)
        case Dense():
            return kl.Dense(layer.units, use_bias=layer.bias, name=name)
        case ReLU():
            return kl.ReLU(name=name)
        case Dropout():
            return kl.Dropout(layer.rate, name=name)
        case GlobalAvgPool():
            return kl.GlobalAveragePooling2D(name=name)
        case Flatten():
            return kl.Flatten(name=name)
    raise TypeError(f"keras builder: unsupported layer {type(layer).__name__}")


def _apply(layer: Layer, x: keras.KerasTensor, index: int, trainable: bool) -> keras.KerasTensor:
    if isinstance(layer, Residual):
        body, short = x, x
        for j, sub in enumerate(layer.body):
            body = _make(sub, layer_name(index, "b", j), trainable)(body)
        for j, sub in enumerate(layer.shortcut):
            short = _make(sub, layer_name(index, "s", j), trainable)(short)
        return kl.Add(name=layer_name(index) + "_add")([body, short])
    return _make(layer, layer_name(index), trainable)(x)


def _make(layer: Layer, name: str, trainable: bool) -> keras.Layer:
    made = _layer(layer, name)
    made.trainable = trainable
    return made


def build(spec: ModelSpec, seed: int | None = None) -> keras.Model:
    """Return a functional ``keras.Model`` for ``spec``: with the initial weights that
    ``models.initial`` draws from ``seed`` (the same as the torch build's), or Keras's own
    default initialization when ``seed`` is None."""
    layer_table(spec)  # validate shapes with a clear error before building
    inputs = keras.Input(shape=tuple(spec.input_shape))
    x = inputs
    for index, layer in enumerate(spec.layers):
        x = _apply(layer, x, index, trainable=index >= spec.frozen_layers)
    model = keras.Model(inputs, x, name=spec.name)
    if seed is not None:
        from models.initial import draw

        for path, _layer, _shape, arrays in draw(spec, seed):
            if arrays:
                model.get_layer(layer_name(*path)).set_weights(arrays)
    return model


def count_params(model: keras.Model) -> tuple[int, int]:
    """(trainable, non_trainable) parameter counts."""
    trainable = sum(prod(w.shape) for w in model.trainable_weights)
    frozen = sum(prod(w.shape) for w in model.non_trainable_weights)
    return trainable, frozen
