"""Registry of named architectures: ``@register`` a spec factory; ``names``, ``get``, ``info``.

A factory is ``fn(input_shape, classes, **options) -> ModelSpec``. The registration holds the
default input shape and class count, a description, the source it reproduces, and the model's
options with their defaults and allowed values. ``get`` fills in defaults and validates options,
so a bad name or value fails here, naming what is allowed.

Architectures themselves live in ``models/architectures*.py``; importing this module's public
functions loads them (lazily, once) so registration never happens as a side effect of import order.

Users' own models (``models.user``) join the same registry: spec-file factories registered with
the same ``@register`` inside ``defining(origin)``, and native models (``register_native``: a
torch and/or Keras factory, no spec). ``clear_user`` removes them all, so that one config's set
replaces another's; their ``ModelInfo.origin`` says where each was defined ("" for the zoo's).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from bench.contract.names import check_name, check_option
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
    #: Where a user's model was defined (a spec file, a bench.toml table); "" for the zoo's.
    origin: str = ""
    #: A native model's factories (``models.native.NativeRef``); None for a spec model.
    native: Any = None


@dataclass(frozen=True, slots=True)
class _Entry:
    info: ModelInfo
    factory: Factory


_REGISTRY: dict[str, _Entry] = {}
_loaded = False
_USER: set[str] = set()  # names registered by users' files and tables
_origin = ""  # the user's file or table being defined now ("" outside `defining`)


@contextmanager
def defining(origin: str) -> Iterator[None]:
    """Within: ``register`` records models as the user's, defined in ``origin``."""
    global _origin
    _load()
    previous, _origin = _origin, origin
    try:
        yield
    finally:
        _origin = previous


def _add(info: ModelInfo, factory: Factory | None) -> None:
    check_name("model name", info.name)  # it becomes part of trial ids, paths and labels
    for key, option in info.options.items():
        for value in (option.default, *option.choices):
            check_option(f"model {info.name!r}", key, value)
    old = _REGISTRY.get(info.name)
    if old is not None and (factory is None or old.factory is not factory):
        where = old.info.origin or "the built-in zoo"
        raise ValueError(f"model {info.name!r} is already defined (by {where}); rename it")
    _REGISTRY[info.name] = _Entry(info, factory)  # type: ignore[arg-type]
    if info.origin:
        _USER.add(info.name)


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
        info = ModelInfo(
            name,
            tuple(input_shape),
            classes,
            description,
            source,
            options or {},
            fixed_input,
            origin=_origin,
        )
        _add(info, fn)
        return fn

    return decorate


def register_native(
    name: str, native: Any, *, input_shape: tuple[int, ...], classes: int, description: str = ""
) -> None:
    """Register a native model: ``native`` (a ``models.native.NativeRef``) names its torch
    and/or Keras factory; it has no spec, so ``get`` refuses it. Only inside ``defining``."""
    if not _origin:
        raise ValueError("register_native is for users' models: call it inside defining()")
    shape = tuple(input_shape)
    _add(ModelInfo(name, shape, classes, description, "", origin=_origin, native=native), None)


def clear_user() -> None:
    """Forget every user's model (spec files, tables, natives): the zoo alone remains."""
    for name in _USER:
        _REGISTRY.pop(name, None)
    _USER.clear()


def user_names() -> list[str]:
    """Sorted names of the users' models now registered."""
    return sorted(_USER)


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
    if entry.info.native is not None:
        raise ValueError(
            f"model {name!r} is a native model ({entry.info.native}): it has no spec; its "
            "factory builds it inside a trial"
        )
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
