"""The rules a bench.toml key's value must follow, and the one error a user sees when it does not.

A config field is declared with `setting(default, kind, minimum=..., choices=...)`: a dataclass
field whose metadata is its rule. `coerce` checks a value against a rule (types are strict: a
bool is not an integer, NaN and infinities are not numbers, a sweep list names each value once);
`build_section` turns a TOML table into its frozen dataclass, raising a `UsageError` that names
the file or flag, the key, the value and what was expected.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import field
from typing import Any

from bench.errors import UsageError


def _rule(kind: str, *, minimum: float | None = None, choices: tuple[str, ...] = (), doc: str = ""):
    return {"kind": kind, "min": minimum, "choices": choices, "doc": doc}


def setting(default: Any, kind: str, **rule: Any) -> Any:
    return field(default=default, metadata=_rule(kind, **rule))


def expected(rule: dict[str, Any]) -> str:
    kind, low = rule["kind"], rule["min"]
    words = {
        "int": "an integer",
        "float": "a number",
        "str": "a string",
        "bool": "true or false",
        "int_list": "a non-empty list of integers",
        "float_list": "a non-empty list of numbers",
        "str_list": "a non-empty list of strings",
        "table": "a table of keys whose values are strings, integers or true/false",
    }[kind]
    if kind in ("int_list", "str_list"):
        words += " without duplicates"
    if low is not None:
        words += f" ≥ {low:g}" if kind in ("int", "float") else f", each ≥ {low:g}"
    if rule["choices"]:
        words += " from: " + ", ".join(rule["choices"])
    return words


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _check_scalar(kind: str, v: Any, rule: dict[str, Any]) -> Any:
    base = kind.removesuffix("_list")
    ok = {"int": _is_int, "float": _is_number, "str": lambda x: isinstance(x, str)}.get(
        base, lambda x: isinstance(x, bool)
    )(v)
    if not ok:
        raise ValueError
    if base == "float":
        try:
            v = float(v)
        except OverflowError:
            raise ValueError from None
        if not math.isfinite(v):
            raise ValueError
    if rule["min"] is not None and base in ("int", "float") and v < rule["min"]:
        raise ValueError
    if rule["choices"] and v not in rule["choices"]:
        raise ValueError
    return v


def coerce(value: Any, rule: dict[str, Any]) -> Any:
    """Check `value` against a field rule; return the typed value or raise ValueError."""
    kind = rule["kind"]
    if kind == "table":  # stored as sorted (key, value) pairs: a frozen dataclass holds no dict
        if not isinstance(value, dict) or not all(
            isinstance(v, str | int) and not isinstance(v, float) for v in value.values()
        ):
            raise ValueError
        return tuple(sorted((str(k), v) for k, v in value.items()))
    if not kind.endswith("_list"):
        return _check_scalar(kind, value, rule)
    if not isinstance(value, list) or not value:
        raise ValueError
    items = tuple(_check_scalar(kind, v, rule) for v in value)
    if kind != "float_list" and len(set(items)) != len(items):  # a sweep names each value once
        raise ValueError
    return items


def fail(where: str, section: str, key: str, value: Any, expected: str) -> UsageError:
    return UsageError(f"{where}: [{section}] {key} = {value!r} is invalid: expected {expected}.")


def build_section(cls: type, raw: dict[str, Any], where: str, section: str) -> Any:
    known = {f.name: f for f in dataclasses.fields(cls)}
    values = {}
    for key, value in raw.items():
        if key not in known:
            raise UsageError(
                f"{where}: unknown key [{section}] {key!r}; valid keys in [{section}]: "
                + ", ".join(known)
                + "."
            )
        rule = dict(known[key].metadata)
        try:
            values[key] = coerce(value, rule)
        except ValueError:
            raise fail(where, section, key, value, expected(rule)) from None
    return cls(**values)
