"""scripts/simulate_verdicts.py at small scale: the simulation tables of docs/statistics.md
regenerate from a seed, and what they promise holds — nothing-differs comparisons are starred
in at most 5 % of rows and comparisons, one configuration of four 2× slower is found at 4
repeats, and the warnings trip on at most 5 % of stationary configurations (each within the
Monte-Carlo tolerance of the small draw: three standard errors of a proportion)."""

from __future__ import annotations

import importlib.util
import math
import re
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "simulate_verdicts.py"
STATISTICS = SCRIPT.parent.parent / "docs" / "statistics.md"
SECTION = "### Simulated: what a verdict and a warning are worth"


def load_script():
    spec = importlib.util.spec_from_file_location("simulate_verdicts", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tolerance(p: float, n: int) -> float:
    return 3 * math.sqrt(p * (1 - p) / n)


@pytest.fixture(scope="module")
def sim():
    return load_script()


@pytest.fixture(scope="module")
def small(sim) -> dict:
    return {"verdicts": sim.verdict_tables(0.1, 7), "warnings": sim.warning_tables(0.1, 7)}


def test_nothing_differs_is_rarely_starred(sim, small) -> None:
    draws = {k: max(20, int(n * 0.1)) for k, n in sim.DRAWS.items()}
    for (repeats, k), rates in small["verdicts"]["null"].items():
        assert rates["raw"] <= 0.05 + tolerance(0.05, 3 * k * draws[k]), (repeats, k, rates)
        assert rates["any star"] <= 0.05 + tolerance(0.05, draws[k]), (repeats, k, rates)
        assert rates["gate"] <= rates["any star"]


def test_one_of_four_configurations_twice_as_slow_is_found_at_four_repeats(sim, small) -> None:
    power = small["verdicts"]["power"]
    draws = max(20, int(sim.DRAWS[4] * 0.1))
    assert power[(4, 4, 2.0)] >= 0.9 - tolerance(0.9, draws)
    for repeats in sim.REPEATS:  # more repeats, more power; bigger effects, more power
        row = [power[(repeats, 1, e)] for e in sim.EFFECTS]
        assert row[-1] >= row[0] and power[(repeats, 1, 2.0)] >= 0.9


def test_warnings_are_calibrated_on_stationary_data(small) -> None:
    for (data, repeats), rates in small["warnings"].items():
        if data in ("t3", "normal"):
            n = 200
            assert rates["not yet steady"] <= 0.05 + tolerance(0.05, n), (data, repeats, rates)
            assert rates["outlier repeat"] <= 0.05 + tolerance(0.05, n), (data, repeats, rates)
            assert rates["drift tested"] >= 0.99
        if repeats == 3:
            assert rates["outlier repeat"] == 0  # fewer than 4 values: no outlier verdict
    caught = [small["warnings"][("drift 3%", r)]["not yet steady"] for r in (3, 10)]
    assert caught[1] > caught[0] and caught[1] >= 0.5


def table_shape(text: str) -> list[str]:
    """Every table line of `text`, each rate replaced by `%` (rates differ between a small and
    a full draw; the captions, headers and row keys do not)."""
    return [re.sub(r"\d+\.\d %", "%", line) for line in text.splitlines() if line.startswith("| ")]


def test_tables_render_as_docs_statistics_shows_them(sim, small) -> None:
    text = sim.render(small["verdicts"], small["warnings"])
    assert "| repeats a side | raw p, per row (1 / 20 configs) |" in text
    assert "| repeats | K | 5% slower | 10% slower | 20% slower | 2× slower |" in text
    assert "| data | repeats | outlier repeat |" in text
    assert text.count("\n| 4 | 4 |") == 1
    section = STATISTICS.read_text(encoding="utf-8").split(SECTION)[1].split("\nRead:")[0]
    assert table_shape(section) == table_shape(text)
    captions = [line for line in text.splitlines() if line and not line.startswith("|")]
    assert captions and all(re.search(f"^{re.escape(c)}$", section, re.M) for c in captions)
