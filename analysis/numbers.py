"""How every number is written, once: in the terminal (`bench run`), report.md/.html and compare.

Pure Python (no pandas), so the parent's terminal summary can use it without the analysis extra.

- times: 3 significant digits, in s from 1 s up and in ms below — `1.23 s`, `45.6 ms`,
  `0.812 ms`; from 1,000 on whole numbers with thousands separators (`1,234 s`). An interval
  takes its point's unit: `45.6 ms [44.1, 47.0]`.
- counts and rates: thousands separators, 3 significant digits below 1,000 — `31,531`, `128`,
  `12.5`; memory: whole MiB with separators (`1,282`; the unit is in the column's header).
- ratios: 3 significant digits and `×` — `1.50×`, `0.823×`, `12.3×`; `1.50× [1.41, 1.60]`.
- percentages: whole from 10 % up, 2 significant digits below (`12%`, `2.5%`, `0.25%`); a CI's
  confidence is rounded down (`87%` for 0.875: it never claims more than it has), 95 % at most.
- p-values: `<0.001`; below 0.1 two significant digits (`0.03`, `0.029`, `0.0043`); else two
  decimals (`0.23`, `1.00`).
- missing (None, NaN, pandas' NA): `—`; an infinite count of epochs: `never`.
"""

from __future__ import annotations

import math

MISSING = "—"
DIGITS = 3  # significant digits of times, rates and ratios
MIB = 1024**2


def _value(value: object) -> float | None:
    """`value` as a float, or None where it is missing (None, NaN, pandas.NA, not a number)."""
    if value is None or isinstance(value, str):
        return None
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):  # pandas.NA and other non-numbers
        return None
    return None if math.isnan(x) else x


def _round(x: float, digits: int) -> float:
    """`x` rounded to `digits` significant digits."""
    if x == 0 or math.isinf(x):
        return x
    return round(x, digits - 1 - math.floor(math.log10(abs(x))))


def significant(x: float, digits: int = DIGITS) -> str:
    """`x` with `digits` significant digits, trailing zeros kept (`1.50`, `0.0812`); from
    10**digits on a whole number with thousands separators (`31,531`)."""
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    r = _round(x, digits)
    if r == 0:
        return "0"
    if abs(r) >= 10**digits:
        return f"{x:,.0f}"
    decimals = max(digits - 1 - math.floor(math.log10(abs(r))), 0)
    return f"{r:,.{decimals}f}"


def _unit(x: float) -> tuple[float, str]:
    """(scale, unit): seconds from 1 s up (after rounding), else milliseconds."""
    if abs(_round(x * 1000, DIGITS)) >= 1000 or math.isinf(x):
        return 1.0, "s"
    return 1000.0, "ms"


def seconds(value: object) -> str:
    """A time given in seconds: `1.23 s`, `45.6 ms`, `0.812 ms`, `1,234 s`, `0 s`, `—`."""
    x = _value(value)
    if x is None:
        return MISSING
    if x == 0:
        return "0 s"
    scale, unit = _unit(x)
    return f"{significant(x * scale)} {unit}"


def seconds_interval(value: object, low: object, high: object) -> str:
    """A time and its interval in the point's unit: `45.6 ms [44.1, 47.0]`; the point alone
    where a bound is missing."""
    x, lo, hi = _value(value), _value(low), _value(high)
    if x is None or lo is None or hi is None:
        return seconds(value)
    scale, unit = _unit(x) if x != 0 else _unit(max(abs(lo), abs(hi)))
    bounds = f"[{significant(lo * scale)}, {significant(hi * scale)}]"
    return f"{significant(x * scale)} {unit} {bounds}"


def number(value: object, digits: int = DIGITS) -> str:
    """A count or rate: `31,531`, `128`, `12.5`, `0.0812`; `—` where missing."""
    x = _value(value)
    return MISSING if x is None else significant(x, digits)


def count(value: object) -> str:
    """A whole number with thousands separators: `31,531`."""
    x = _value(value)
    return MISSING if x is None else f"{x:,.0f}"


def mib(value: object) -> str:
    """Bytes as whole MiB with thousands separators: `1,282`."""
    x = _value(value)
    return MISSING if x is None else f"{x / MIB:,.0f}"


def gib(value: object) -> str:
    """Bytes in GiB, 3 significant digits and the unit: `23.5 GiB`, `80.0 GiB`."""
    x = _value(value)
    return MISSING if x is None else f"{significant(x / 1024**3)} GiB"


def ratio(value: object) -> str:
    """`1.50×`, `0.823×`, `12.3×`; `—` where missing."""
    x = _value(value)
    return MISSING if x is None else f"{significant(x)}×"


def ratio_interval(value: object, low: object, high: object) -> str:
    """`1.50× [1.41, 1.60]`; the ratio alone where a bound is missing."""
    lo, hi = _value(low), _value(high)
    if _value(value) is None or lo is None or hi is None:
        return ratio(value)
    return f"{ratio(value)} [{significant(lo)}, {significant(hi)}]"


def percent(fraction: object, signed: bool = False) -> str:
    """A fraction as a percentage: `12%`, `2.5%`, `0.25%` (`+12%` with `signed`)."""
    x = _value(fraction)
    if x is None:
        return MISSING
    p = x * 100
    text = f"{p:.0f}" if abs(p) >= 9.5 or p == 0 else significant(p, 2)
    return ("+" if signed and p > 0 else "") + text + "%"


def level(fraction: object, nominal: float = 0.95) -> str:
    """A CI's confidence, rounded down: the `nominal` 95% where the interval reaches it, else
    its real level (`87%` for 0.875 with 4 repeats, `75%` with 3); `—` where there is none."""
    x = _value(fraction)
    return MISSING if x is None else f"{math.floor(min(x, nominal) * 100 + 1e-9):.0f}%"


def p_value(value: object) -> str:
    """`<0.001`, `0.0043`, `0.03`, `0.029`, `0.23`, `1.00`; `—` where there is no test."""
    p = _value(value)
    if p is None:
        return MISSING
    if p < 0.001:
        return "<0.001"
    text = f"{p:.2g}"
    return text if float(text) < 0.1 else f"{p:.2f}"


def epochs(value: object) -> str:
    """An epoch count that may be infinite: `3`, `never`, `—`."""
    x = _value(value)
    if x is None:
        return MISSING
    return "never" if math.isinf(x) else count(x)
