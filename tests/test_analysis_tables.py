"""Numbers in one row add up: the configuration table, its rendering, and figure 1's bars."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from analysis_synth import make_runs

from analysis import glance, numbers, plots, report
from analysis.analyze import analyze
from bench.contract.headline import SETUP_PHASES


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


def seconds_cell(text: str) -> float:
    """'1.23 s' or '45.6 ms [44.1, 47.0] 87%' → the point value in seconds."""
    number, unit = text.split(" ")[:2]
    return float(number.replace(",", "")) / (1000 if unit == "ms" else 1)


def test_every_rendered_row_adds_up(analysis) -> None:
    table = report.config_table(analysis.configs)
    column = {h: table.headers.index(h) for h in table.headers}
    assert "peak device MiB" not in column  # no device memory measured: no empty column
    for row in table.rows:
        first, steady, overhead, setup, cold = (
            seconds_cell(row[column[h]])
            for h in ("first epoch", "steady epoch [CI] level", "overhead", "set-up", "cold start")
        )
        # 3 significant digits each: the rounding of three numbers near 0.1–5 s
        assert first - steady == pytest.approx(overhead, abs=0.015), row
        assert setup + first == pytest.approx(cold, abs=0.015), row
        # analysis_synth: each trial's first step is 40% of its first epoch
        assert seconds_cell(row[column["first step"]]) == pytest.approx(0.4 * first, abs=0.01)


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


def test_at_a_glance_has_one_line_per_model_and_device_in_a_fixed_order() -> None:
    variants = [("keras", "tensorflow", "graph"), ("torch", "torch", "eager")]
    configs = [
        {"model": model, "device": device, "framework": f, "backend": b, "mode": m}
        for model in ("m1", "m0")
        for device in ("cuda:0", "cpu")
        for f, b, m in variants
    ]
    a = analyze(make_runs(["r"], configs, repeats=3, seed=12))
    para, extremes, lines = glance.glance_blocks(a.configs)
    assert [line.split("**")[1] for line in lines.items] == [
        f"{variant}, {where}"
        for where in ("m1 on cpu", "m1 on cuda:0", "m0 on cpu", "m0 on cuda:0")
        for variant in ("torch eager", "keras graph")
    ]  # models in plan order, the CPU first, torch before keras
    row = a.configs.set_index(["model", "device", "variant"]).loc[("m0", "cpu", "torch eager")]
    # each sentence: the overhead in seconds and first ÷ steady, cold start, steady, as in the table
    said = (
        f"epoch 1 costs +{numbers.seconds(row.overhead_s)} over a steady epoch "
        f"({numbers.ratio(row.overhead_ratio)}); cold start {numbers.seconds(row.cold_s)}; "
        f"steady epoch {numbers.seconds(row.steady_s)}"
    )
    assert lines.items[4] == f"**torch eager, m0 on cpu**: {said}"
    assert "first-epoch overhead" in para.text
    most = a.configs.loc[a.configs["overhead_ratio"].idxmax()]
    assert f"to {numbers.ratio(most.overhead_ratio)} ({most.variant}, {most.model} on" in (
        extremes.text
    )


def test_at_a_glance_without_ok_trials_says_so() -> None:
    (para,) = glance.glance_blocks(pd.DataFrame())
    assert "No configuration finished ok" in para.text
