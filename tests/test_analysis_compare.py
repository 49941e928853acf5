"""compare: alignment by every identity column, the adjusted p in the table, the heatmap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from analysis_synth import join_runs, make_runs, trial_view

from analysis import compare_render
from analysis.compare_stats import METRICS, alignment_key, compare_table, text_rows
from bench.contract.schema import IDENTITY_COLUMNS, MACHINE_COLUMNS

# two values of each identity column that aligns across machines
TWO_VALUES = {
    "model": ("m0", "m1"),
    "model_options": ("", "head=gap"),
    "framework": ("fake", "torch"),
    "backend": ("fake", "torch"),
    "mode": ("scripted", "eager"),
    "cache": ("cold", "warm"),
    "input_shape": ("28x28x1", "32x32x3"),
    "classes": (10, 100),
    "pipeline": ("memory", "loader"),
    "workers": (None, 2),
    "augment": ("none", "flip+rotation"),
    "precision": ("fp32", "bf16"),
    "autotune": ("default", "on"),
    "batch_size": (32, 64),
    "epochs": (6, 8),
    "samples_per_epoch": (64, 128),
    "parallel": ("single", "data"),
    "world_size": (1, 2),
}


def test_every_aligning_identity_column_has_two_values_here() -> None:
    assert set(TWO_VALUES) == set(IDENTITY_COLUMNS) - set(MACHINE_COLUMNS)


@pytest.mark.parametrize("column", sorted(TWO_VALUES))
def test_a_run_sweeping_any_identity_column_is_not_pooled(column) -> None:
    # e.g. pipeline = ["memory", "loader"] with 4 repeats: two configurations of 4, not one of 8
    configs = [{column: value} for value in TWO_VALUES[column]]
    runs = make_runs(["a", "b"], configs, repeats=4, seed=3)
    a = trial_view(runs)
    assert column in alignment_key(a.trials)
    table = compare_table(a)
    # two configurations × (steady epoch, first-epoch overhead, cold start)
    assert len(table) == 2 * (len(METRICS) - 1) == 6  # no steps.csv here: no step-based row
    assert (table["n_base"] == 4).all() and (table["n_other"] == 4).all()
    assert table.groupby("metric")["configuration"].nunique().eq(2).all()


@pytest.mark.parametrize("column", MACHINE_COLUMNS)
def test_machine_columns_align_loosely(column) -> None:
    values = {"device": ("cpu", "cpu:1"), "device_name": ("A", "B"), "threads": (1, 2)}
    values["dataset"] = ("synthetic", "mnist5k")
    values["device_uuid"] = ("GPU-aaaa", "GPU-bbbb")
    two = [{column: v} for v in values[column]]
    runs = make_runs(["a", "b"], two, repeats=4, seed=4)
    assert column in alignment_key(trial_view(runs).trials)  # several in one run: in the key
    # one value per run, different between runs (another machine): aligned all the same
    runs = join_runs(
        make_runs(["a"], two[:1], repeats=4, seed=5), make_runs(["b"], two[1:], repeats=4, seed=6)
    )
    a = trial_view(runs)
    assert column not in alignment_key(a.trials)
    # one configuration, every metric but the step-based overhead (these runs have no steps)
    assert len(compare_table(a)) == len(METRICS) - 1


def test_table_shows_raw_and_adjusted_p() -> None:
    runs = make_runs(["a", "b"], [{"model": f"m{i}"} for i in range(5)], 5, seed=8)
    table = compare_table(trial_view(runs))
    assert (table["p_adj"] >= table["p"] - 1e-12).all()
    headers, rows = text_rows(table)
    assert headers[6:9] == ["p", "p (BH)", "repeats"] and rows[0][8] == "5/5"


def test_heatmap_colours_only_significant_cells() -> None:
    table = pd.DataFrame(
        {
            "configuration": ["a", "b", "c"],
            "metric": "steady epoch",
            "run": "other",
            "ratio": [0.92, 1.5, np.nan],
            "significant": [False, True, False],
        }
    )
    fig = compare_render.heatmap(table)
    mesh = fig.axes[0].collections[0]
    cells = np.ma.getmaskarray(mesh.get_array()).ravel()
    assert cells.tolist() == [True, False, True]  # only b is coloured
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "0.920×" in texts and "1.50×*" in texts  # the uncoloured ratio is still printed


def test_overhead_is_compared_beside_steady_epoch_and_cold_start() -> None:
    runs = make_runs(["a", "b"], [{"model": "m0"}], repeats=6, seed=9, scale={"b": 1.3})
    table = compare_table(trial_view(runs))
    assert table["metric"].tolist() == ["steady epoch", "first-epoch overhead", "cold start"]
    overhead = table.iloc[1]
    assert overhead.ratio == pytest.approx(1.3, rel=0.15) and overhead.n_base == 6
    assert overhead.significant and overhead.verdict == "slower"


def test_an_overhead_at_or_below_zero_gets_no_test_and_no_verdict() -> None:
    runs = make_runs(["a", "b"], [{"model": "m0"}], repeats=6, seed=10, scale={"b": 1.3})
    epochs = runs.epochs
    one = (epochs["run_id"] == "b") & (epochs["epoch"] == 1) & epochs["trial_id"].str.endswith("r0")
    epochs.loc[one, "wall_s"] = 0.5  # this repeat's first epoch is faster than its steady ones
    table = compare_table(trial_view(runs)).set_index("metric")
    overhead = table.loc["first-epoch overhead"]
    assert np.isnan(overhead.p) and np.isnan(overhead.ratio_low) and not overhead.significant
    assert overhead.verdict == "no verdict: a repeat ≤ 0"
    assert table.loc["steady epoch", "significant"]  # the other metrics are still tested
    headers, rows = text_rows(table.reset_index())
    assert rows[1][headers.index("verdict")] == "no verdict: a repeat ≤ 0"
    assert rows[1][headers.index("p")] == "—"


def test_runs_are_named_by_their_folder_and_every_column_is_headed() -> None:
    runs = make_runs(["20261201-0900-a1b2", "20261202-0900-c3d4"], [{"model": "m0"}], 4, seed=12)
    runs.runs["path"] = ["results/baseline", "results/after-fix"]
    a = trial_view(runs)
    table = compare_table(a)
    assert set(table["run"]) == {"after-fix"}
    text = compare_render.text(a, table, pd.DataFrame())
    assert text.startswith("baseline: baseline\n") and "20261201" not in text
    assert text.splitlines()[1] == "run: after-fix", "one compared run: named once, above"
    header = next(line for line in text.splitlines() if line.startswith("metric")).split()
    assert header[:2] == ["metric", "configuration"] and header[-1] == "verdict"
    headers, rows = text_rows(table)
    assert all(headers) and all(row[-1] for row in rows)  # n.s. is written, not left blank
    assert {row[-1] for row in rows} <= {"n.s.", "* slower", "* faster"}
