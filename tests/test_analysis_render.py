"""The report's figures drawn in forked workers are the figures drawn one by one; the
every-epoch figure summarised into one panel when its facets are too many."""

from __future__ import annotations

import threading

import pytest
from test_analysis_support import fake_run

from analysis import forked, plots, plots_epochs, render
from analysis.analyze import analyze
from analysis.load import load_runs
from analysis.summary import setting_labels


@pytest.fixture(scope="module")
def analysis():
    return analyze(load_runs([fake_run("render", repeats=2, batch_sizes=(32, 64))]))


def test_forked_figures_are_the_sequential_figures(analysis, monkeypatch) -> None:
    if not forked.can_fork():
        pytest.skip("this platform or process cannot fork workers (no fork, one CPU, threads)")
    with render.drawing(analysis) as pngs:
        in_workers = pngs()
    monkeypatch.setattr(forked, "can_fork", lambda: False)
    with render.drawing(analysis) as pngs:
        one_by_one = pngs()
    assert len(in_workers) == len(plots.figures())
    assert in_workers == one_by_one
    assert in_workers[0] is not None and in_workers[0].startswith(b"\x89PNG")


def test_no_fork_from_a_threaded_process() -> None:
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait)
    worker.start()
    try:
        assert not forked.can_fork()
    finally:
        stop.set()
        worker.join()


def test_epoch_figure_has_a_facet_per_model_and_device(analysis) -> None:
    fig = plots_epochs.fig_epochs(analysis)
    facets = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in facets] == ["seed_ffnn on cpu"]
    assert facets[0].get_ylabel() == "epoch wall time (s)"


def test_epoch_figure_of_many_facets_is_one_panel_relative_to_steady(analysis, monkeypatch) -> None:
    """Above MAX_FACETS facets the figure is one panel: each configuration's median epoch time
    ÷ its steady epoch (here EPOCH_S: epoch 1 costs 2.0 s against a steady median of 1.0 s)."""
    monkeypatch.setattr(plots_epochs, "MAX_FACETS", 0)
    fig = plots_epochs.fig_epochs(analysis)
    (panel,) = [ax for ax in fig.axes if ax.get_ylabel()]
    assert panel.get_ylabel() == "epoch time ÷ steady epoch"
    assert "2 configurations" in fig.texts[0].get_text()  # suptitle: batch 32 and 64
    lines = plots_epochs.relative_lines(_epochs(analysis))
    first = lines[lines["epoch"] == 1]["ratio"].to_numpy()
    assert len(first) == 2 and first == pytest.approx(2.0 / 1.0, rel=1e-6)
    assert lines[lines["epoch"] >= 2].groupby("config")["ratio"].median().tolist() == [1.0, 1.0]


def _epochs(a):
    ok = a.trials[a.trials["status"] == "ok"]
    ok = ok.assign(config=setting_labels(ok))
    cols = ["run_id", "trial_id", "model", "device", "variant", "config"]
    return a.runs.epochs[["run_id", "trial_id", "epoch", "wall_s"]].merge(ok[cols])
