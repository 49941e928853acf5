"""The report's figures drawn in forked workers are the figures drawn one by one."""

from __future__ import annotations

import threading

import pytest
from test_analysis_support import fake_run

from analysis import plots, render
from analysis.analyze import analyze
from analysis.load import load_runs


@pytest.fixture(scope="module")
def analysis():
    return analyze(load_runs([fake_run("render", repeats=2, batch_sizes=(32, 64))]))


def test_forked_figures_are_the_sequential_figures(analysis, monkeypatch) -> None:
    if not render.can_fork():
        pytest.skip("this platform or process cannot fork workers (no fork, one CPU, threads)")
    forked = render.render_all(analysis)
    monkeypatch.setattr(render, "can_fork", lambda: False)
    one_by_one = render.render_all(analysis)
    assert len(forked) == len(plots.figures())
    assert forked == one_by_one
    assert forked[0] is not None and forked[0].startswith(b"\x89PNG")


def test_no_fork_from_a_threaded_process() -> None:
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait)
    worker.start()
    try:
        assert not render.can_fork()
    finally:
        stop.set()
        worker.join()
