"""Copy weights from a torch build into a keras build of the same ``ModelSpec``.

Layouts handled:

- Conv: torch (out, in, kh, kw) -> Keras (kh, kw, in, out).
- SeparableConv: depthwise torch (in*m, 1, kh, kw) -> Keras (kh, kw, in, m) (both order the
  depthwise outputs as ``c*m + j``); pointwise like a 1x1 conv.
- Dense: torch (out, in) -> Keras (in, out). When its input came from a Flatten of a feature map
  the rows are also permuted: torch flattens (C, H, W), Keras (H, W, C).
- BatchNorm: weight, bias, running mean and variance -> gamma, beta, moving mean and variance
  (permuted like Dense rows when applied to a flattened map).

Modules are paired by position (see ``torch_build`` and ``keras_build.layer_name``). Imports
keras (through ``keras_build``) and numpy; torch arrives only as the model passed in.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from models.flops import Shape, layer_output_shape
from models.initial import flatten_order
from models.keras_build import layer_name
from models.spec import (
    BatchNorm,
    Conv,
    Dense,
    Flatten,
    Layer,
    ModelSpec,
    Residual,
    SeparableConv,
)


def _np(tensor: Any) -> np.ndarray:
    return tensor.detach().cpu().numpy()


def _conv_module(module: Any) -> Any:
    """The conv inside an optional (pad, conv) Sequential."""
    return module[-1] if hasattr(module, "__getitem__") else module


def _weights(layer: Layer, module: Any, perm: np.ndarray | None) -> list[np.ndarray]:
    match layer:
        case Conv():
            conv = _conv_module(module)
            arrays = [_np(conv.weight).transpose(2, 3, 1, 0)]
            return arrays + ([_np(conv.bias)] if layer.bias else [])
        case SeparableConv():
            dw, pw = module.depthwise.weight, module.pointwise.weight
            cin = dw.shape[0] // layer.depth_multiplier
            depthwise = _np(dw).reshape(cin, layer.depth_multiplier, *dw.shape[2:])
            arrays = [depthwise.transpose(2, 3, 0, 1), _np(pw).transpose(2, 3, 1, 0)]
            return arrays + ([_np(module.pointwise.bias)] if layer.bias else [])
        case Dense():
            kernel = _np(module.weight)
            kernel = kernel if perm is None else kernel[:, perm]
            return [kernel.T] + ([_np(module.bias)] if layer.bias else [])
        case BatchNorm():
            stats = (module.weight, module.bias, module.running_mean, module.running_var)
            return [_np(a) if perm is None else _np(a)[perm] for a in stats]
    return []


def _copy(layer: Layer, module: Any, keras_model: Any, name: str, perm: np.ndarray | None) -> None:
    arrays = _weights(layer, module, perm)
    if arrays:
        keras_layer = keras_model.get_layer(name)
        expected = [tuple(w.shape) for w in keras_layer.get_weights()]
        got = [a.shape for a in arrays]
        if expected != got:
            raise ValueError(f"layer {name}: keras expects shapes {expected}, torch gives {got}")
        keras_layer.set_weights(arrays)


def torch_to_keras(torch_model: Any, keras_model: Any, spec: ModelSpec) -> None:
    """Overwrite ``keras_model``'s weights with ``torch_model``'s (both built from ``spec``)."""
    shape: Shape = tuple(spec.input_shape)
    perm: np.ndarray | None = None
    for index, layer in enumerate(spec.layers):
        module = torch_model[index]
        if isinstance(layer, Residual):
            if perm is not None:
                raise ValueError("Residual on a flattened feature map cannot be made identical")
            for branch, sublayers, seq in (
                ("b", layer.body, module.body),
                ("s", layer.shortcut, module.shortcut),
            ):
                _copy_branch(sublayers, seq, keras_model, index, branch)
        else:
            _copy(layer, module, keras_model, layer_name(index), perm)
        perm = flatten_order(layer, shape, perm)
        shape = layer_output_shape(layer, shape)


def _copy_branch(
    layers: tuple[Layer, ...], seq: Any, keras_model: Any, index: int, branch: str
) -> None:
    for sub, layer in enumerate(layers):
        if isinstance(layer, Flatten):
            raise ValueError("Flatten inside a Residual cannot be made identical")
        _copy(layer, seq[sub], keras_model, layer_name(index, branch, sub), None)
