"""`analysis.forked`: work cut into chunks and run in forked workers gives the results of running
it in this process, in order; the per-configuration statistics and reading several run
folders do too."""

from __future__ import annotations

import os

import pandas as pd
import pytest
from test_analysis_support import copy_run, fake_run

from analysis import forked
from analysis.analyze import analyze
from analysis.load import load_runs
from analysis.tables import AnalysisError


@pytest.mark.parametrize(("count", "parts"), [(0, 2), (1, 2), (5, 2), (7, 3), (480, 2), (3, 8)])
def test_chunks_cover_every_index_once_in_order(count: int, parts: int) -> None:
    pieces = forked.chunks(count, parts)
    assert [i for piece in pieces for i in piece] == list(range(count))
    assert all(len(piece) for piece in pieces) and len(pieces) <= max(1, parts)
    sizes = [len(piece) for piece in pieces]
    assert not sizes or max(sizes) - min(sizes) <= 1


def test_fork_map_runs_in_other_processes_and_keeps_order() -> None:
    if not forked.can_fork():
        pytest.skip("this platform or process cannot fork workers (no fork, one CPU, threads)")
    items = list(range(10))
    done = forked.fork_map(lambda i: (i * i, os.getpid()), items)  # a closure: never pickled
    assert [square for square, _ in done] == [i * i for i in items]
    assert os.getpid() not in {pid for _, pid in done}


def test_fork_map_falls_back_to_this_process(monkeypatch) -> None:
    monkeypatch.setattr(forked, "can_fork", lambda: False)
    assert forked.fork_map(lambda i: (i, os.getpid()), [1, 2]) == [
        (1, os.getpid()),
        (2, os.getpid()),
    ]


def test_statistics_in_workers_equal_statistics_in_this_process(monkeypatch) -> None:
    runs = load_runs([fake_run("forked", repeats=3, batch_sizes=(16, 32, 64))])
    monkeypatch.setattr(forked, "CHUNKED_FROM", 10**9)
    here = analyze(runs)
    expected = here.warnings  # computed when first asked for
    monkeypatch.setattr(forked, "CHUNKED_FROM", 2)
    calls = []
    real = forked.fork_map
    monkeypatch.setattr(
        forked, "fork_map", lambda fn, items: calls.append(len(items)) or real(fn, items)
    )
    there = analyze(runs)
    assert there.warnings == expected
    assert calls == [min(3, forked.cpus())] * 2  # statistics and instability rules, chunked
    pd.testing.assert_frame_equal(here.configs, there.configs)


def test_runs_read_side_by_side_equal_runs_read_one_by_one(monkeypatch, tmp_path) -> None:
    first = fake_run("forked-a", repeats=2)
    second = copy_run(fake_run("forked-b", repeats=2, scale=1.5), tmp_path)
    together = load_runs([first, second])
    monkeypatch.setattr(forked, "can_fork", lambda: False)
    one_by_one = load_runs([first, second])
    for name in ("trials", "phases", "epochs", "runs"):
        pd.testing.assert_frame_equal(getattr(together, name), getattr(one_by_one, name))
    monkeypatch.undo()
    (second / "run.json").write_text("{broken", encoding="utf-8")
    with pytest.raises(AnalysisError, match=r"run\.json: not valid JSON"):
        load_runs([first, second])  # the worker's error, as the parent would have raised it
