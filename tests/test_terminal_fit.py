"""What a new user reads first fits their terminal: the end-of-run summary and `compare` at 80,
100 and 200 columns (no line wider, no configuration wrapped, compare's last line a verdict),
warm-ups named on the live bar, and the first-epoch figure's legend naming only the phases the
run has, in words."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest
from rich.console import Console
from test_analysis_support import fake_run

from analysis import compare_render, compare_stats, plots
from analysis.analyze import analyze
from analysis.load import load_runs
from analysis.simulate import make_runs, trial_view
from bench.cli.progress import Display, configuration_table
from bench.cli.report import _value
from bench.core.summary import configurations, varying_labels

WIDTHS = (80, 100, 200)
METRICS = ("steady epoch", "first-epoch overhead", "cold start")


@pytest.fixture(scope="module")
def run_dir():
    return fake_run("fit", repeats=2, batch_sizes=(32, 64), models=("seed_cnn", "seed_ffnn"))


def summary_configs(run_dir):
    with open(run_dir / "trials.csv", newline="") as f:
        rows = [{k: _value(v) for k, v in r.items()} for r in csv.DictReader(f)]
    return configurations(rows)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_summary_fits_the_terminal_and_never_wraps_a_configuration(run_dir, width) -> None:
    configs = summary_configs(run_dir)
    buf = io.StringIO()
    Console(file=buf, width=width).print(configuration_table(configs, width))
    lines = buf.getvalue().splitlines()
    assert max(map(len, lines)) <= width
    labels, shared = varying_labels(configs)
    assert len(set(labels)) == 4 and "b32" in labels[0] and "28x28x1" not in labels[0]
    assert any(f"every row: {shared}" in line for line in lines), "the shared words, once"
    for text in labels:  # each on one line, whole
        assert sum(text in line for line in lines) == 1, text
    if width >= 200:
        assert "samples/s" in buf.getvalue() and "peak" in buf.getvalue()
    else:
        assert "samples/s" not in buf.getvalue(), "secondary columns go on a narrow terminal"


def test_verbose_keeps_every_column_and_the_full_labels(run_dir) -> None:
    configs = summary_configs(run_dir)
    table = configuration_table(configs, 80, verbose=True)
    assert len(table.columns) == 11
    assert list(table.columns[0].cells) == [c.label for c in configs]


def comparison(slow: float):
    configs = [{"model": m, "batch_size": b} for m in ("m0", "m1") for b in (32, 64)]
    runs = make_runs(["base", "after"], configs, 6, seed=3, scale={"after": [slow, 1, 1, 1]})
    a = trial_view(runs)
    return a, compare_stats.compare_table(a)


@pytest.mark.parametrize("width", WIDTHS)
def test_compare_fits_the_terminal_and_ends_with_its_verdict(width) -> None:
    a, table = comparison(slow=1.5)
    text = compare_render.text(a, table, pd.DataFrame(), width=width)
    lines = text.splitlines()
    assert max(map(len, lines)) <= width, [line for line in lines if len(line) > width]
    assert lines[1] == "run: after", "one compared run is named once, not in every row"
    assert lines[-1].startswith("verdict: 3 of 12 rows slower"), lines[-1]
    assert "m0" in lines[-1]


def test_compare_says_when_nothing_differs() -> None:
    a, table = comparison(slow=1.0)
    text = compare_render.text(a, table, pd.DataFrame(), width=100)
    assert text.splitlines()[-1].startswith("verdict: no significant difference in 12 tested")


def test_warm_ups_are_named_on_the_live_bar(tmp_path) -> None:
    display = Display(Console(file=io.StringIO(), force_terminal=True, width=100))
    display.start(tmp_path, [])
    display.working("warm-up 1/2: torch/torch on cpu (untimed, before the timed trials)")
    assert display._progress is not None
    assert display._progress.tasks[0].description.startswith("warm-up 1/2: torch/torch on cpu")
    display.stop()


def test_the_phase_legend_lists_the_phases_present_in_words(run_dir) -> None:
    fig = plots.fig_phases(analyze(load_runs([run_dir])))
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "optimizer set-up" in labels and "first step" in labels
    assert "compile" not in labels, "the phase is named for what it does"
    assert "DDP wrap" not in labels and "process group init" not in labels, "single trials"
    colours = {tuple(p.get_facecolor()) for p in fig.legends[0].get_patches()}
    assert len(colours) == len(fig.legends[0].get_patches()), "every phase its own colour"


def test_the_first_screen_says_what_epoch_1_costs_in_words() -> None:
    from analysis.glance import glance_lines

    frame = pd.DataFrame(
        {"model": ["m", "m"], "device": ["cpu", "cpu"], "variant": ["keras graph", "torch eager"],
         "entry": ["keras graph", "torch eager"], "overhead_s": [1.39, -0.05],
         "overhead_ratio": [10.3, 0.97], "cold_s": [6.55, 3.0], "steady_s": [0.15, 1.5]}
    )  # fmt: skip
    lines = glance_lines(frame)
    torch = next(line for line in lines if line.startswith("**torch eager"))
    assert torch == (
        "**torch eager, m on cpu**: no first-epoch overhead measurable (epoch 1 50.0 ms faster); "
        "cold start 3.00 s; steady epoch 1.50 s"
    )
    keras = next(line for line in lines if line.startswith("**keras graph"))
    assert keras == (
        "**keras graph, m on cpu**: epoch 1 costs +1.39 s over a steady epoch (10.3×); "
        "cold start 6.55 s; steady epoch 150 ms"
    )


def test_the_heatmap_names_machines_as_the_fleet_does() -> None:
    runs = make_runs(["a", "b"], [{"model": "m0"}], 4, seed=1)
    assert compare_render.column_names(trial_view(runs)) == {"a": "a", "b": "b"}, "one machine"
    runs.trials["device_kind"] = "cuda"
    runs.trials["device_name"] = runs.trials["run_id"].map({"a": "NVIDIA H100", "b": "A100"})
    assert compare_render.column_names(trial_view(runs)) == {"a": "NVIDIA H100", "b": "A100"}


def test_no_interval_is_printed_where_too_few_repeats_give_no_verdict() -> None:
    runs = make_runs(["base", "after"], [{"model": "m0"}], 2, seed=5, scale={"after": 0.73})
    a = trial_view(runs)
    text = compare_render.text(a, compare_stats.compare_table(a), pd.DataFrame(), width=200)
    rows = [line for line in text.splitlines() if line.split("  ")[0] in METRICS]
    assert len(rows) == 3 and not any("[" in line for line in rows), rows


def test_machine_memory_is_written_in_gib() -> None:
    from analysis.fingerprint import host

    shown = host({"host": {"ram_bytes": 25276194816, "gpus": [{"memory_bytes": 85899345920}]}})
    assert shown["ram_bytes"] == "23.5 GiB" and shown["gpus[0].memory_bytes"] == "80.0 GiB"
