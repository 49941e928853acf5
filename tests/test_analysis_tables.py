"""Numbers in one row add up: the configuration table, its rendering, and figure 1's bars."""

from __future__ import annotations

import numpy as np
import pytest
from analysis_synth import make_runs

from analysis import plots, report
from analysis.analyze import analyze
from analysis.labels import SETUP_PHASES


@pytest.fixture(scope="module")
def analysis():
    """Repeats that differ (8% process spread): medians of differences ≠ differences of medians."""
    configs = [{"model": f"m{i}"} for i in range(6)] + [{"model": "m0", "batch_size": 64}]
    runs = make_runs(["r"], configs, repeats=5, seed=11)
    return analyze(runs)


def test_first_minus_steady_is_the_overhead(analysis) -> None:
    c = analysis.configs
    assert len(c) == 7
    assert np.allclose(c["first_epoch_s"] - c["steady_s"], c["overhead_s"], rtol=0, atol=1e-12)
    assert np.allclose(c["setup_s"] + c["first_epoch_s"], c["cold_s"], rtol=0, atol=1e-12)
    assert np.allclose(c["first_epoch_s"] / c["steady_s"], c["overhead_ratio"])


def test_every_rendered_row_adds_up(analysis) -> None:
    table = report.config_table(analysis.configs)
    first, steady, overhead = (
        table.headers.index(h) for h in ("first epoch s", "steady epoch s [CI]", "overhead s")
    )
    for row in table.rows:
        values = [float(row[i].split(" [")[0].replace(",", "")) for i in (first, steady, overhead)]
        # 4 significant digits each: the rounding of three numbers near 1–3 s
        assert values[0] - values[1] == pytest.approx(values[2], abs=3e-3), row


def test_figure_one_bars_have_the_table_lengths(analysis) -> None:
    bars = plots.phase_table(analysis)
    setup = bars[list(SETUP_PHASES)].sum(axis=1)
    epoch_one = bars[["first_step", "first_epoch_rest"]].sum(axis=1)
    assert np.allclose(setup, bars["setup_s"]) and np.allclose(epoch_one, bars["first_epoch_s"])
    merged = bars.merge(analysis.configs, on=["model", "batch_size"], suffixes=("", "_table"))
    assert np.allclose(setup + epoch_one, merged["cold_s"])  # the bar ends at the cold start
    # the tick sits at set-up + steady: the rest of the bar is the table's overhead
    tick = merged["setup_s"] + merged["steady_s"]
    assert np.allclose(setup + epoch_one - tick, merged["overhead_s"])
