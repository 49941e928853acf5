"""Numbers are written one way everywhere (analysis.numbers): the helpers, and the terminal, the
report and compare agreeing on them."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from analysis import numbers, stats

NAN = float("nan")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.2345, "1.23 s"),
        (12.345, "12.3 s"),
        (123.4, "123 s"),
        (1234.5, "1,234 s"),
        (0.0456, "45.6 ms"),
        (0.000812, "0.812 ms"),
        (0.5, "500 ms"),
        (0.9996, "1.00 s"),  # rounds up across the unit: never "1,000 ms"
        (0.99949, "999 ms"),
        (-0.000174, "-0.174 ms"),
        (-1.5, "-1.50 s"),
        (0.0, "0 s"),
        (None, "—"),
        (NAN, "—"),
        (pd.NA, "—"),
    ],
)
def test_seconds_in_s_or_ms_with_three_significant_digits(value, text) -> None:
    assert numbers.seconds(value) == text


def test_an_interval_takes_its_points_unit() -> None:
    # the "-1.74e-04 [-0.03252, 0.005524]"
    assert numbers.seconds_interval(-1.74e-4, -0.03252, 0.005524) == "-0.174 ms [-32.5, 5.52]"
    assert numbers.seconds_interval(0.0456, 0.0441, 0.047) == "45.6 ms [44.1, 47.0]"
    assert numbers.seconds_interval(1.0, 0.95, 1.05) == "1.00 s [0.950, 1.05]"
    assert numbers.seconds_interval(1.0, NAN, NAN) == "1.00 s"  # one repeat: no interval
    assert numbers.seconds_interval(None, 1, 2) == "—"


def test_counts_rates_and_memory_have_thousands_separators() -> None:
    # the "31531 in the terminal but 1,282 in the report"
    assert numbers.number(31531.4) == "31,531"
    assert [numbers.number(x) for x in (128, 12.5, 0.0812, 999.7)] == [
        "128",
        "12.5",
        "0.0812",
        "1,000",
    ]
    assert numbers.count(31531) == "31,531" and numbers.count(None) == "—"
    assert numbers.mib(1282 * 2**20) == "1,282" and numbers.mib(NAN) == "—"


def test_ratios_keep_three_significant_digits() -> None:
    assert [numbers.ratio(x) for x in (1.5, 0.8234, 12.34, 2.0)] == [
        "1.50×",
        "0.823×",
        "12.3×",
        "2.00×",
    ]
    assert numbers.ratio_interval(1.5, 1.41, 1.6) == "1.50× [1.41, 1.60]"
    assert numbers.ratio_interval(1.5, NAN, NAN) == "1.50×"
    assert numbers.ratio(None) == "—"


def test_percentages_and_confidence_levels() -> None:
    assert [numbers.percent(x) for x in (0.123, 0.0246, 0.00246, 1.234, 0)] == [
        "12%",
        "2.5%",
        "0.25%",
        "123%",
        "0%",
    ]
    assert numbers.percent(0.05, signed=True) == "+5.0%" and numbers.percent(-0.12) == "-12%"
    # a CI's level is rounded down and never above the nominal 95%
    levels = [numbers.level(stats.median_ci(range(n)).level) for n in (2, 3, 4, 5, 6, 20)]
    assert levels == ["50%", "75%", "87%", "93%", "95%", "95%"]
    assert numbers.level(math.nan) == "—" and numbers.level(None) == "—"


@pytest.mark.parametrize(
    ("p", "text"),
    [
        (0.0004, "<0.001"),
        (0.0043, "0.0043"),
        (0.03, "0.03"),
        (2 / 70, "0.029"),
        (0.0999, "0.10"),
        (0.2345, "0.23"),
        (1.0, "1.00"),  # the "p printed as 1"
        (NAN, "—"),
    ],
)
def test_p_values(p, text) -> None:
    assert numbers.p_value(p) == text


def test_epoch_counts_and_infinity() -> None:
    assert [numbers.epochs(x) for x in (3.0, math.inf, NAN)] == ["3", "never", "—"]
    assert numbers.significant(math.inf) == "∞"
