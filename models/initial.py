"""Initial weights drawn once, in NumPy, from a seed — the same start for every framework.

Scheme (docs/models.md, "The zoo"): every Conv, SeparableConv (depthwise and pointwise
kernels) and Dense kernel is He/Kaiming-uniform, U(−b, b) with b = √(6 / fan_in) (fan_in: the
inputs of one output unit: kh·kw·in for a conv, kh·kw for a depthwise kernel, in·m for a
pointwise one, in for a dense layer); every bias is zero; BatchNorm starts at γ = 1, β = 0,
moving mean 0 and variance 1. Kernels are drawn in spec order (a Residual's body, then its
shortcut), each as float32 from one `numpy.random.default_rng(seed)`, in Keras's layouts
(conv HWIO, dense (in, out) with Keras's (H, W, C) flatten order), which `keras_build` sets
as they are; `load_torch` converts each array to torch's layout (conv OIHW, dense (out, in)
with torch's (C, H, W) flatten order), so that the two builds of one spec start bit-identical —
`bench models --verify` checks it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from models.flops import Shape, layer_output_shape
from models.spec import (
    BatchNorm,
    Conv,
    Dense,
    Dropout,
    Flatten,
    Layer,
    ModelSpec,
    ReLU,
    Residual,
    SeparableConv,
)

# A layer's place in the model: (index,) at the top level, (index, "b" | "s", sub) in a Residual.
Path = tuple[Any, ...]


def _uniform(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int) -> np.ndarray:
    bound = np.sqrt(6.0 / fan_in)
    return rng.uniform(-bound, bound, size=shape).astype(np.float32)


def layer_arrays(rng: np.random.Generator, layer: Layer, shape: Shape) -> list[np.ndarray]:
    """The initial arrays of one layer (input `shape`), in Keras's order and layout."""
    match layer:
        case Conv():
            k, cin = layer.kernel, shape[-1]
            kernel = _uniform(rng, (k, k, cin, layer.filters), k * k * cin)
            return [kernel] + ([np.zeros(layer.filters, np.float32)] if layer.bias else [])
        case SeparableConv():
            k, cin, m = layer.kernel, shape[-1], layer.depth_multiplier
            depthwise = _uniform(rng, (k, k, cin, m), k * k)
            pointwise = _uniform(rng, (1, 1, cin * m, layer.filters), cin * m)
            bias = [np.zeros(layer.filters, np.float32)] if layer.bias else []
            return [depthwise, pointwise, *bias]
        case Dense():
            kernel = _uniform(rng, (shape[-1], layer.units), shape[-1])
            return [kernel] + ([np.zeros(layer.units, np.float32)] if layer.bias else [])
        case BatchNorm():
            c = shape[-1]
            ones, zeros = np.ones(c, np.float32), np.zeros(c, np.float32)
            return [ones, zeros, zeros.copy(), ones.copy()]
    return []


def draw(spec: ModelSpec, seed: int) -> Iterator[tuple[Path, Layer, Shape, list[np.ndarray]]]:
    """(path, layer, input shape, arrays) for every layer of `spec`, drawn in spec order."""
    rng = np.random.default_rng(seed)
    shape: Shape = tuple(spec.input_shape)
    for index, layer in enumerate(spec.layers):
        if isinstance(layer, Residual):
            for branch, sublayers in (("b", layer.body), ("s", layer.shortcut)):
                sub_shape = shape
                for sub, sublayer in enumerate(sublayers):
                    arrays = layer_arrays(rng, sublayer, sub_shape)
                    yield (index, branch, sub), sublayer, sub_shape, arrays
                    sub_shape = layer_output_shape(sublayer, sub_shape)
        else:
            yield (index,), layer, shape, layer_arrays(rng, layer, shape)
        shape = layer_output_shape(layer, shape)


def flatten_order(layer: Layer, shape: Shape, perm: np.ndarray | None) -> np.ndarray | None:
    """keras[i] = torch[perm[i]] for the flat vector after `layer` (see models.transfer)."""
    if isinstance(layer, Flatten) and len(shape) == 3:
        h, w, c = shape
        return np.arange(c * h * w).reshape(c, h, w).transpose(1, 2, 0).ravel()
    return perm if isinstance(layer, Flatten | ReLU | Dropout | BatchNorm) else None


def torch_arrays(layer: Layer, arrays: list[np.ndarray], perm: np.ndarray | None) -> list:
    """Keras-layout arrays of `layer` in torch's layout (a flat input permuted by `perm`)."""
    match layer:
        case Conv():
            return [arrays[0].transpose(3, 2, 0, 1), *arrays[1:]]
        case SeparableConv():
            k, _, cin, m = arrays[0].shape
            depthwise = arrays[0].transpose(2, 3, 0, 1).reshape(cin * m, 1, k, k)
            return [depthwise, arrays[1].transpose(3, 2, 0, 1), *arrays[2:]]
        case Dense():
            kernel = arrays[0].T
            if perm is not None:
                kernel = np.empty_like(kernel)
                kernel[:, perm] = arrays[0].T
            return [kernel, *arrays[1:]]
        case BatchNorm():
            if perm is None:
                return arrays
            out = [np.empty_like(a) for a in arrays]
            for o, a in zip(out, arrays, strict=True):
                o[perm] = a
            return out
    return []


def load_torch(model: Any, spec: ModelSpec, seed: int) -> None:
    """Set a `torch_build.build(spec)` model's parameters (and BatchNorm buffers) to the seed's
    initial weights, converted to torch's layouts."""
    import torch

    perm: np.ndarray | None = None
    for path, layer, shape, arrays in draw(spec, seed):
        module = _module(model, path)
        if arrays:
            targets = _torch_targets(layer, module)
            with torch.no_grad():
                for target, array in zip(targets, torch_arrays(layer, arrays, perm), strict=True):
                    target.copy_(torch.from_numpy(np.ascontiguousarray(array)))
        if len(path) == 1:
            perm = flatten_order(layer, shape, perm)


def _module(model: Any, path: Path) -> Any:
    module = model[path[0]]
    if len(path) == 3:
        module = (module.body if path[1] == "b" else module.shortcut)[path[2]]
    return module


def _torch_targets(layer: Layer, module: Any) -> list[Any]:
    match layer:
        case Conv():
            conv = module[-1] if hasattr(module, "__getitem__") else module
            return [conv.weight] + ([conv.bias] if layer.bias else [])
        case SeparableConv():
            pw = module.pointwise
            return [module.depthwise.weight, pw.weight] + ([pw.bias] if layer.bias else [])
        case Dense():
            return [module.weight] + ([module.bias] if layer.bias else [])
        case BatchNorm():
            return [module.weight, module.bias, module.running_mean, module.running_var]
    return []
