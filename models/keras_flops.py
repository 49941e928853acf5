"""Conv and dense FLOPs of a built ``keras.Model`` — a native Keras model's ``flops_per_sample``.

Keras has no FLOP counter, and the backends' own (XLA's cost analysis, TensorFlow's profiler)
count every element-wise op and differ from each other. This counts what torch's
``FlopCounterMode`` counts for a native torch model and what ``models.flops.matmul_flops``
counts for a spec model: the multiply-adds (2 FLOPs each, no bias) of the convolution and dense
layers, which hold nearly all of a CNN's arithmetic. One sample is run through the model in
inference mode with each such layer's ``call`` wrapped to record its input and output shapes
(so a subclassed model, whose layers have no symbolic shapes, is counted too); then per sample:

- a convolution (``Conv1D``–``Conv3D``, ``DepthwiseConv*``, ``SeparableConv*``): 2 × output
  positions × the size of each kernel (a separable layer's depthwise and pointwise kernels);
  a transposed convolution: 2 × input positions × kernel size;
- ``Dense``: 2 × positions (1 for a flat input) × kernel size.

Training FLOPs are what the backward pass computes, as ``FlopCounterMode`` finds it for a torch
model: forward, plus the forward FLOPs again for a trainable layer's weight gradient, plus again
for its input gradient where that input depends on a trainable weight — a layer called before
any layer with trainable weights (the first conv on the images) needs none. "Before" is call
order, which is the data's order for a chain; a branch that starts from the raw input after
another branch's trainable layer is counted as needing one. Layers of other kinds (attention,
``EinsumDense``, a custom layer doing its own matmuls) are not counted.
"""

from __future__ import annotations

from math import prod
from typing import Any


def _kinds(keras: Any) -> tuple[tuple[type, ...], tuple[type, ...], type]:
    layers = keras.layers
    transposed = tuple(
        getattr(layers, n) for n in ("Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose")
    )
    convs = tuple(
        getattr(layers, n)
        for n in ("Conv1D", "Conv2D", "Conv3D", "DepthwiseConv1D", "DepthwiseConv2D")
        + ("SeparableConv1D", "SeparableConv2D")
    )
    return convs, transposed, layers.Dense


def _positions(shape: tuple[int, ...], data_format: str) -> int:
    """Spatial positions of one sample's feature map (batch and channel axes left out)."""
    return prod(shape[2:] if data_format == "channels_first" else shape[1:-1])


def _kernel_size(layer: Any) -> int:
    kernels = [getattr(layer, n, None) for n in ("kernel", "depthwise_kernel", "pointwise_kernel")]
    return sum(int(prod(k.shape)) for k in kernels if k is not None)


def layer_flops(layer: Any, kinds: tuple, seen: tuple[tuple, tuple]) -> int:
    """Forward FLOPs of one sample through `layer`, from the (input, output) shapes `seen`."""
    convs, transposed, dense = kinds
    inputs, outputs = seen
    data_format = getattr(layer, "data_format", "channels_last")
    if isinstance(layer, transposed):
        return 2 * _positions(inputs, data_format) * _kernel_size(layer)
    if isinstance(layer, convs):
        return 2 * _positions(outputs, data_format) * _kernel_size(layer)
    if isinstance(layer, dense):
        return 2 * prod(inputs[1:-1]) * _kernel_size(layer)
    return 0


def _leaves(model: Any) -> list[Any]:
    """Every layer inside `model` that holds no other layer (Keras's own walk over its tracked
    sublayers; `_flatten_layers` has no public twin in Keras 3)."""
    return [
        layer
        for layer in model._flatten_layers(include_self=False, recursive=True)
        if not list(layer._flatten_layers(include_self=False, recursive=False))
    ]


def count(keras: Any, model: Any, input_shape: tuple[int, ...]) -> tuple[int, int] | None:
    """(forward, training) conv and dense FLOPs per sample of `model` for an (H, W, C) input;
    None when the model cannot be run to count it (a count is a bonus: timing stands without)."""
    import numpy as np

    kinds = _kinds(keras)
    counted = (*kinds[0], *kinds[1], kinds[2])
    layers = [
        layer for layer in _leaves(model) if isinstance(layer, counted) or layer.trainable_weights
    ]
    order: list[Any] = []
    seen: dict[int, tuple[tuple, tuple]] = {}

    def recording(layer: Any) -> Any:
        call = layer.call

        def wrapped(inputs: Any, *args: Any, **kwargs: Any) -> Any:
            order.append(layer)
            outputs = call(inputs, *args, **kwargs)
            seen[id(layer)] = (tuple(inputs.shape), tuple(outputs.shape))
            return outputs

        return wrapped

    for layer in layers:
        layer.call = recording(layer)  # an instance attribute over the class's call
    try:
        model(np.zeros((1, *input_shape), dtype="float32"), training=False)
    except Exception:
        return None
    finally:
        for layer in layers:
            del layer.call
    forward = training = 0
    upstream = False  # has a layer with trainable weights run before this one?
    for layer in dict.fromkeys(order):  # a shared layer counts once
        if isinstance(layer, counted):
            flops = layer_flops(layer, kinds, seen[id(layer)])
            forward += flops
            training += flops * (1 + bool(layer.trainable) + upstream)
        upstream = upstream or bool(layer.trainable_weights)
    return forward, training
