"""Registry of named architectures: ``@register`` a spec factory; ``names``, ``get``, ``info``.

A factory is ``fn(input_shape, classes, **options) -> ModelSpec``. The registration holds the
default input shape and class count, a description, the source it reproduces, and the model's
options with their defaults and allowed values. ``get`` fills in defaults and validates options,
so a bad name or value fails here, naming what is allowed.

Architectures themselves live in ``models/architectures*.py``; importing this module's public
functions loads them (lazily, once) so registration never happens as a side effect of import order.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from models.spec import ModelSpec

Factory = Callable[..., ModelSpec]

# Modules whose import registers architectures (each calls ``register`` at top level).
_ARCHITECTURE_MODULES = ("models.architectures", "models.architectures_imagenet")


@dataclass(frozen=True, slots=True)
class Option:
    """A model option: its default and the values it accepts (a tuple of allowed values)."""

    default: Any
    choices: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What a registration says about a model, without building it."""

    name: str
    input_shape: tuple[int, ...]
    classes: int
    description: str
    source: str
    options: dict[str, Option] = field(default_factory=dict)
    #: A fixed-design model (vgg16, xception): it keeps its own input size and channels, and
    #: real data is resized to them; other models take the data's own shape.
    fixed_input: bool = False


@dataclass(frozen=True, slots=True)
class _Entry:
    info: ModelInfo
    factory: Factory


_REGISTRY: dict[str, _Entry] = {}
_loaded = False


def register(
    name: str,
    *,
    input_shape: tuple[int, ...],
    classes: int,
    description: str = "",
    source: str = "",
    options: dict[str, Option] | None = None,
    fixed_input: bool = False,
) -> Callable[[Factory], Factory]:
    """Decorator: register ``fn(input_shape, classes, **options) -> ModelSpec`` under ``name``."""

    def decorate(fn: Factory) -> Factory:
        if name in _REGISTRY and _REGISTRY[name].factory is not fn:
            raise ValueError(f"model {name!r} is already registered")
        info = ModelInfo(
            name, tuple(input_shape), classes, description, source, options or {}, fixed_input
        )
        _REGISTRY[name] = _Entry(info, fn)
        return fn

    return decorate


def _load() -> None:
    global _loaded
    if not _loaded:
        for module in _ARCHITECTURE_MODULES:
            importlib.import_module(module)
        _loaded = True


def names() -> list[str]:
    """Sorted names of every registered model."""
    _load()
    return sorted(_REGISTRY)


def _entry(name: str) -> _Entry:
    _load()
    try:
        return _REGISTRY[name]
    except KeyError:
        valid = ", ".join(sorted(_REGISTRY))
        raise KeyError(f"unknown model {name!r}; valid names: {valid}") from None


def info(name: str) -> ModelInfo:
    """Defaults (input shape, classes, options), description and source of a registered model."""
    return _entry(name).info


def resolve_options(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """Validate ``options`` for model ``name`` and return them with defaults filled in."""
    declared = _entry(name).info.options
    unknown = sorted(set(options) - set(declared))
    if unknown:
        allowed = ", ".join(sorted(declared)) or "none"
        raise ValueError(f"model {name!r}: unknown option(s) {unknown}; allowed: {allowed}")
    resolved = {}
    for key, opt in declared.items():
        value = options.get(key, opt.default)
        if value not in opt.choices:
            raise ValueError(
                f"model {name!r}: option {key}={value!r} not allowed; choose from {opt.choices}"
            )
        resolved[key] = value
    return resolved


def get(
    name: str,
    input_shape: tuple[int, ...] | None = None,
    classes: int | None = None,
    **options: Any,
) -> ModelSpec:
    """Build the spec of model ``name``; ``None`` arguments take the registered defaults.

    Raises ``KeyError`` (listing valid names) for an unknown model, ``ValueError`` for a bad
    input shape, class count or option.
    """
    entry = _entry(name)
    shape = tuple(entry.info.input_shape if input_shape is None else input_shape)
    n_classes = entry.info.classes if classes is None else classes
    if len(shape) != len(entry.info.input_shape) or any(int(d) < 1 for d in shape):
        raise ValueError(
            f"model {name!r}: input_shape {shape} must have {len(entry.info.input_shape)} "
            f"positive dimensions like the default {entry.info.input_shape}"
        )
    if n_classes < 1:
        raise ValueError(f"model {name!r}: classes must be >= 1, got {n_classes}")
    resolved = resolve_options(name, options)
    return entry.factory(tuple(int(d) for d in shape), int(n_classes), **resolved)
