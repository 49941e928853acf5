"""A model written as a layer list in bench.toml: ``[models.NAME] layers = [...]``.

Each item is a layer of the spec vocabulary (``models.spec``), by its class name and with its
field names: a string for a layer without fields (``"ReLU"``, ``"Flatten"``,
``"GlobalAvgPool"``), or an inline table ``{ layer = "Conv", filters = 32, kernel = 3 }``.
``Dense``'s ``units = "classes"`` is the data's class count (the classifier); a ``Residual``
takes ``body = [...]`` and ``shortcut = [...]``, lists of the same form. Nothing is imported
but the spec: the parent reads these lists as it reads the zoo.

``layers(items, classes, where)`` turns a list into spec layers; ``ValueError`` names the item
(``layers[2]``), the layer and the field, and says what was expected.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from models import flops
from models.spec import Layer, ModelSpec, layer_type

INT_FIELDS = ("filters", "kernel", "stride", "size", "units", "depth_multiplier")
FLOAT_FIELDS = ("rate", "momentum", "epsilon")
LIST_FIELDS = ("body", "shortcut")
CLASSES = "classes"


def _int(value: Any, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} = {value!r}: expected an integer ≥ 1")
    return value


def _float(value: Any, name: str) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or value < 0 or (name == "rate" and value >= 1):
        bound = "≥ 0 and < 1" if name == "rate" else "≥ 0"
        raise ValueError(f"{name} = {value!r}: expected a number {bound}")
    return float(value)


def _value(name: str, value: Any, classes: int, where: str) -> Any:
    """One field's value, checked against what the spec layer takes."""
    if name == "units" and value == CLASSES:
        return classes
    if name in INT_FIELDS:
        return _int(value, name)
    if name in FLOAT_FIELDS:
        return _float(value, name)
    if name == "bias":
        if not isinstance(value, bool):
            raise ValueError(f"bias = {value!r}: expected true or false")
        return value
    if name == "padding":
        if value not in ("same", "valid"):
            raise ValueError(f"padding = {value!r}: expected 'same' or 'valid'")
        return value
    return layers(value, classes, where + f".{name}")  # body / shortcut


def _layer(item: Any, classes: int, where: str) -> Layer:
    if isinstance(item, str):
        kind, given = item, {}
    elif isinstance(item, dict) and "layer" in item:
        given = dict(item)
        kind = given.pop("layer")
    else:
        raise ValueError(
            f"{where}: expected a layer name (\"ReLU\") or a table with a 'layer' key "
            f'({{ layer = "Conv", filters = 32, kernel = 3 }}), got {item!r}'
        )
    try:
        cls = layer_type(kind)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    fields = [f.name for f in dataclasses.fields(cls)]
    label = f"{where} ({cls.__name__})"
    unknown = sorted(set(given) - set(fields))
    if unknown:
        takes = ", ".join(fields) or "no fields"
        raise ValueError(f"{label}: unknown field {unknown[0]!r}; {cls.__name__} takes: {takes}")
    try:
        values = {k: _value(k, v, classes, where) for k, v in given.items()}
        return cls(**values)
    except TypeError as exc:  # a required field is missing
        raise ValueError(f"{label}: {exc}; it takes: {', '.join(fields)}") from None
    except ValueError as exc:
        raise ValueError(f"{label}: {exc}") from None


def layers(items: Any, classes: int, where: str = "layers") -> tuple[Layer, ...]:
    """The spec layers a TOML list describes (``where`` names the list in errors)."""
    if not isinstance(items, list) or (where == "layers" and not items):
        raise ValueError(f"{where}: expected a non-empty list of layers, got {items!r}")
    return tuple(_layer(item, classes, f"{where}[{i}]") for i, item in enumerate(items))


def factory(name: str, items: list[Any], description: str = "") -> Any:
    """A zoo factory ``fn(input_shape, classes) -> ModelSpec`` for the layer list ``items``;
    the spec must end in ``(classes,)`` logits."""

    def build(input_shape: tuple[int, ...], classes: int) -> ModelSpec:
        spec = ModelSpec(name, input_shape, classes, layers(items, classes), description)
        out = flops.output_shape(spec)
        if out != (classes,):
            raise ValueError(
                f"its last layer gives shape {out}, not ({classes},) logits for {classes} "
                'classes; end with { layer = "Dense", units = "classes" }'
            )
        return spec

    return build
