"""A bench.toml key's declaration (its `Rule`), and the one error a user sees for a bad value.

A config field is declared once, with `setting(default, kind, ...)`: a dataclass field whose
metadata is its `Rule` — type, default, choices or pattern, bounds, a one-line doc, its `run`
flag, and for a sweep dimension the trial column it fills and how its values appear in labels.
Everything else reads the rule: validation (`coerce`, `build_section`), `run`'s flags and their
help (`bench.cli.run_flags`), `--set`, the labels (`bench.core.labels`) and docs/config.md
(`bench.cli.config_doc`). Types are strict: a bool is not an integer, NaN and infinities are not
numbers, a sweep list names each value once. A bad value raises a `UsageError` that names the
file or flag, the key, the value and what was expected.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bench.errors import UsageError, close_match

KINDS = {
    "int": "an integer",
    "float": "a number",
    "str": "a string",
    "bool": "true or false",
    "int_list": "a non-empty list of integers",
    "float_list": "a non-empty list of numbers",
    "str_list": "a non-empty list of strings",
    "table": "a table of keys whose values are strings, integers or true/false",
}


@dataclass(frozen=True, slots=True)
class Rule:
    """One key's declaration. `maximum` is inclusive unless `below` (then the value must be
    less than it). `allowed` describes values checked elsewhere or by `pattern`; `unset` says
    what an empty default means. `column` is the trial column a sweep dimension fills; `label`
    formats its value there (`{}` is the value; a dict gives a format per value, others show
    bare; `{name}` reads another column), and `quiet` hides the default value in brief labels.
    `hints` says what to use instead of a value that is a known mistake (a Keras backend given
    as a framework); other values not among `choices` get the closest choice, if one is close."""

    kind: str
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    below: bool = False
    choices: tuple[str, ...] = ()
    pattern: str = ""
    allowed: str = ""
    doc: str = ""
    flag: str = ""
    unset: str = ""
    column: str = ""
    label: str | Mapping[str, str] = ""
    quiet: bool = False
    hints: Mapping[str, str] | None = None


def setting(default: Any, kind: str, **rule: Any) -> Any:
    """A config field declared with its rule (see `Rule` for the keywords)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    return field(default=default, metadata={"rule": Rule(kind, default, **rule)})


def rule_of(section: Any, key: str) -> Rule:
    """The rule of `key` in a section dataclass (or instance)."""
    return section.__dataclass_fields__[key].metadata["rule"]


def rules(section: Any) -> dict[str, Rule]:
    """Every key of a section dataclass with its rule, in declaration order."""
    return {f.name: f.metadata["rule"] for f in dataclasses.fields(section)}


def number(value: float) -> str:
    """A bound as written in messages and docs: 1048576, 0.01, 1."""
    return str(value) if isinstance(value, int) else format(value, ".15g")


def bounds(rule: Rule) -> str:
    """'≥ 1 and ≤ 1000', '≥ 0 and < 1', '' when unbounded."""
    low = f"≥ {number(rule.minimum)}" if rule.minimum is not None else ""
    high = ""
    if rule.maximum is not None:
        high = f"{'<' if rule.below else '≤'} {number(rule.maximum)}"
    return " and ".join(p for p in (low, high) if p)


def expected(rule: Rule) -> str:
    """What a value of this key must be, as the error message says it."""
    kind, words = rule.kind, KINDS[rule.kind]
    if kind in ("int_list", "str_list"):
        words += " without duplicates"
    if limits := bounds(rule):
        words += f" {limits}" if kind in ("int", "float") else f", each {limits}"
    if rule.choices:
        words += " from: " + ", ".join(rule.choices)
    if rule.pattern and rule.allowed:
        words += f"; allowed: {rule.allowed}"
    return words


def allowed_text(rule: Rule) -> str:
    """The values a key takes beyond its type, for help and docs: its choices, its bounds
    ('each ≥ 1 and ≤ 1000' for a list) or the words that describe them; '' when any."""
    if rule.choices:
        return ", ".join(rule.choices)
    if rule.allowed:
        return rule.allowed
    limits = bounds(rule)
    return f"each {limits}" if limits and rule.kind.endswith("_list") else limits


def toml_value(value: Any, *, table: bool = False) -> str:
    """A default as bench.toml spells it: ["cold"], 64, 0.001, "adam", true, {} (`table`: a
    table's sorted pairs)."""
    if table:
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return repr(value) if isinstance(value, float) else number(value)


def default_text(rule: Rule, *, flag: bool = False) -> str:
    """A key's default: as bench.toml spells it, or (`flag`) as its `run` flag takes it
    (cold / torch,keras), what an empty default means where it says, else 'none'."""
    if not flag or rule.kind == "table":
        return toml_value(rule.default, table=rule.kind == "table")
    value = rule.default
    if isinstance(value, tuple):
        text = ",".join(map(str, value))
    else:
        text = toml_value(value) if isinstance(value, bool | float) else str(value)
    return text or rule.unset or "none"


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _in_bounds(v: float, rule: Rule) -> bool:
    if rule.minimum is not None and v < rule.minimum:
        return False
    if rule.maximum is not None:
        return v < rule.maximum if rule.below else v <= rule.maximum
    return True


def _check_scalar(kind: str, v: Any, rule: Rule) -> Any:
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
    if base in ("int", "float") and not _in_bounds(v, rule):
        raise ValueError
    if rule.choices and v not in rule.choices:
        raise ValueError
    if rule.pattern and not re.fullmatch(rule.pattern, v):
        raise ValueError
    return v


def coerce(value: Any, rule: Rule) -> Any:
    """Check `value` against a field rule; return the typed value or raise ValueError."""
    kind = rule.kind
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
    known = rules(cls)
    values = {}
    for key, value in raw.items():
        if key not in known:
            raise UsageError(
                f"{where}: unknown key [{section}] {key!r}; valid keys in [{section}]: "
                + ", ".join(known)
                + "."
            )
        try:
            values[key] = coerce(value, known[key])
        except ValueError:
            error = fail(where, section, key, value, expected(known[key]))
            tip = advice(value, known[key])
            raise (UsageError(f"{error} {tip}") if tip else error) from None
    return cls(**values)


def advice(value: Any, rule: Rule) -> str:
    """What the user most likely meant by a value outside the rule's choices: the rule's hint
    for it, else "Did you mean X?" for the closest choice; '' when nothing is close."""
    if not rule.choices:
        return ""
    for item in value if isinstance(value, list) else [value]:
        if not isinstance(item, str) or item in rule.choices:
            continue
        if rule.hints and item.lower() in rule.hints:
            return rule.hints[item.lower()]
        if guess := close_match(item, rule.choices):
            return f"Did you mean {guess!r}?"
    return ""
