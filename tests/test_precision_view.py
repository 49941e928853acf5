"""The report's precision × framework view (`analysis.precision_view`) on synthetic runs: written
only when several precisions ran, one row per configuration and precision in the plan's order,
steady epoch against the same configuration's fp32 row, and the loss of epoch 1 and the last."""

from __future__ import annotations

import pytest
from analysis_synth import make_runs

from analysis.analyze import analyze
from analysis.numbers import ratio
from analysis.precision_view import precision_blocks, precision_table

CONFIGS = [
    {"framework": f, "backend": b, "mode": "eager", "precision": p}
    for p in ("bf16", "fp32")
    for f, b in (("torch", "torch"), ("keras", "tensorflow"))
]


def test_one_precision_adds_nothing() -> None:
    a = analyze(make_runs(["a"], CONFIGS[2:], repeats=3, seed=1))
    assert precision_blocks(a) == [] and precision_table(a).empty


def test_each_configuration_at_each_precision_against_fp32() -> None:
    runs = make_runs(["a"], CONFIGS, repeats=3, seed=2)
    epochs = runs.epochs
    bf16 = epochs["trial_id"].isin(runs.trials.loc[runs.trials["precision"] == "bf16", "trial_id"])
    epochs.loc[bf16, "wall_s"] *= 0.5  # bf16 twice as fast
    epochs["loss"] = 3.0 / epochs["epoch"]  # falling: 3.0 in epoch 1, 0.5 in epoch 6
    table = precision_table(analyze(runs))
    labels = [(r.base, r.precision) for r in table.itertuples()]
    assert labels == [
        ("m · cpu · torch eager", "fp32"),
        ("m · cpu · torch eager", "bf16"),
        ("m · cpu · keras eager", "fp32"),
        ("m · cpu · keras eager", "bf16"),
    ]
    # fp32's own row is 1; bf16's is about a half (each repeat has its own process noise)
    assert table["vs_fp32"].tolist() == pytest.approx([1.0, 0.5, 1.0, 0.5], rel=0.25)
    assert table.loc[1, "vs_fp32"] == table.loc[1, "steady_s"] / table.loc[0, "steady_s"]
    assert table["loss_first"].tolist() == [3.0] * 4 and table["loss_final"].tolist() == [0.5] * 4
    heading, _note, grid = precision_blocks(analyze(runs))
    assert heading.text == "Precision × framework"
    assert grid.rows[1][:3] == ["m · cpu · torch eager", "bf16", "3"]
    assert grid.rows[0][4] == "1.00×" and grid.rows[1][4] == ratio(table.loc[1, "vs_fp32"])
