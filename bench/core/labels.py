"""How a sweep setting's value appears in a label: one function, `part`, over the declarations.

Trial ids (`bench.core.plan`), the dry run (`bench.cli.run`), the run summary
(`bench.core.summary`) and the report's tables and figures (`analysis.summary`) all write a
setting's value through `part`, with the format its declaration gives (`Rule.label`: `b32`,
`t1`, `bf16`, `autotune=on`, `warm`, `dp2`, `r0`), in the order the settings are declared
(`labelled`). A brief label leaves out a `quiet` setting's default (`fp32`, `autotune=default`,
`cold`, `memory`, `single`); a full one, where a column varies between rows, shows every value.
"""

from __future__ import annotations

import dataclasses
import functools
import string
from collections.abc import Mapping
from typing import Any

from bench.core.rules import Rule, rules


@functools.cache
def dimensions() -> dict[str, Rule]:
    """Trial column → the rule of the setting that fills it, for every declared column."""
    from bench.core.settings import SECTIONS

    return {r.column: r for cls in SECTIONS.values() for r in rules(cls).values() if r.column}


def labelled() -> tuple[str, ...]:
    """The columns whose settings declare a label, in declaration order: the order in which
    labels name them (a new setting with a label shows up in every label by itself)."""
    return tuple(column for column, rule in dimensions().items() if rule.label)


def _formats(rule: Rule) -> list[str]:
    return [rule.label] if isinstance(rule.label, str) else list(rule.label.values())


def shown_by(column: str) -> str | None:
    """The column whose label shows `column`'s value: itself when its setting has a label, the
    setting whose label names it otherwise (`world_size` → `parallel`), None when none does."""
    rule = dimensions().get(column)
    if rule is not None and rule.label:
        return column
    for other, candidate in dimensions().items():
        if any(column in _names(fmt) for fmt in _formats(candidate)):
            return other
    return None


def quiet_value(rule: Rule) -> Any:
    """The value a quiet setting's brief labels leave out: its default."""
    default = rule.default
    return default[0] if isinstance(default, tuple) and len(default) == 1 else default


def part(column: str, row: Mapping[str, Any], *, full: bool = False) -> str:
    """`row`'s value of `column` as a label writes it ("" when the row has no value, or when the
    value is a quiet setting's default and the label is not `full`). A column that no setting
    labels reads `column=value`."""
    value = row.get(column)
    if value is None or value == "":
        return ""
    rule = dimensions().get(column)
    if rule is None:
        return f"{column}={value}"
    if rule.quiet and not full and value == quiet_value(rule):
        return ""
    fmt = rule.label if isinstance(rule.label, str) else rule.label.get(value, "{}")
    return fmt.format(value, **{k: row.get(k) for k in _names(fmt)})


def _names(fmt: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(fmt) if name]


def row_of(obj: Any) -> dict[str, Any]:
    """A dataclass instance (a `Trial`) as a row for `part`: its fields by name, not copied."""
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}


def parts(columns: list[str] | tuple[str, ...], row: Mapping[str, Any]) -> list[str]:
    """The brief label parts of `columns` in `row`, in that order, without the empty ones."""
    return [p for p in (part(c, row) for c in columns) if p]
