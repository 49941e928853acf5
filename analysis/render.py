"""Render the report's figures to PNG bytes, in parallel where the platform allows it.

Drawing and encoding a figure of many facets is the slowest part of a report (~1–2 s each for a
sweep of 30 model × device facets); the figures are independent, so `render_all` draws them in
forked worker processes, one per figure, at most one per CPU. A forked child inherits the
analysis without pickling it and sends back only the PNG bytes. Fork is used only where it is
safe: a platform with `fork`, more than one CPU, and no other thread in this process (forking a
threaded process can deadlock; Python 3.12 warns about it). Otherwise figures are drawn one by
one in this process — the same bytes, since each figure is drawn from the same analysis.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING

from analysis import figkit, plots
from bench.contract.lifetime import die_with_parent

if TYPE_CHECKING:
    from analysis.analyze import Analysis

_SHARED: Analysis | None = None  # the analysis a forked worker draws from


def render(a: Analysis, index: int) -> bytes | None:
    """PNG bytes of figure `index` of `plots.figures()`, or None when it does not apply."""
    fig = plots.figures()[index].draw(a)
    return None if fig is None else figkit.png_bytes(fig)


def _render_shared(index: int) -> bytes | None:
    assert _SHARED is not None
    return render(_SHARED, index)


def cpus() -> int:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def can_fork() -> bool:
    """Fork workers only on a platform that has fork, with a CPU to spare, from one thread."""
    return (
        "fork" in multiprocessing.get_all_start_methods()
        and cpus() > 1
        and threading.active_count() == 1
    )


def render_all(a: Analysis) -> list[bytes | None]:
    """Every figure's PNG bytes (None where a figure does not apply), in report order."""
    global _SHARED
    count = len(plots.figures())
    if not can_fork():
        return [render(a, i) for i in range(count)]
    _SHARED = a
    try:
        context = multiprocessing.get_context("fork")
        workers, parent = min(count, cpus()), os.getpid()
        with ProcessPoolExecutor(
            workers, mp_context=context, initializer=die_with_parent, initargs=(parent,)
        ) as pool:  # a worker dies with this process, whatever kills it
            return list(pool.map(_render_shared, range(count)))
    finally:
        _SHARED = None
