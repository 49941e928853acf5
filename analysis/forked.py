"""Run independent pieces of an analysis in forked worker processes, where that is safe.

Drawing a report's figures and the statistics of hundreds of configurations are independent
pieces of CPU work; `fork_map` runs them in forked workers, at most one per CPU. A forked child
inherits the data (the loaded runs, the analysis) without pickling it and sends back only its
result. Fork is used only where it is safe: a platform with `fork`, more than one CPU, and no
other thread in this process (forking a threaded process can deadlock; Python 3.12 warns about
it). Otherwise the pieces run one by one in this process — the same results, since each piece
is computed from the same data.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

from bench.contract.lifetime import die_with_parent

_SHARED: tuple[Callable[[Any], Any], Sequence[Any]] | None = None  # what a forked worker runs


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


def _run_shared(index: int) -> Any:
    assert _SHARED is not None
    fn, items = _SHARED
    return fn(items[index])


def fork_map(fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
    """[fn(item) for item in items], in forked workers where `can_fork()` (results must pickle;
    `fn` and `items` need not)."""
    if len(items) < 2:
        return [fn(item) for item in items]
    with started(fn, items) as pending:
        return pending.results()


class Pending:
    """Results being computed in forked workers (or, without them, computed when asked for)."""

    def __init__(self, fn: Callable[[Any], Any], items: Sequence[Any], futures: list | None):
        self._fn, self._items, self._futures = fn, items, futures

    def results(self) -> list[Any]:
        """Each item's result, in order (waits for the workers)."""
        if self._futures is None:
            return [self._fn(item) for item in self._items]
        return [future.result() for future in self._futures]


@contextmanager
def started(fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Pending]:
    """Start fn(item) for every item in forked workers, first item first (put the longest
    first: the workers take the next as they finish), and let this process do other work
    until it asks for `results()` (one item is worth a worker too: it runs beside this
    process); the workers are gone when the block ends."""
    global _SHARED
    if not items or not can_fork():
        yield Pending(fn, items, None)
        return
    _SHARED = (fn, items)
    try:
        context = multiprocessing.get_context("fork")
        workers, parent = min(len(items), cpus()), os.getpid()
        with ProcessPoolExecutor(
            workers, mp_context=context, initializer=die_with_parent, initargs=(parent,)
        ) as pool:  # a worker dies with this process, whatever kills it
            futures = [pool.submit(_run_shared, i) for i in range(len(items))]
            yield Pending(fn, items, futures)
    finally:
        _SHARED = None


def chunks(count: int, parts: int) -> list[range]:
    """range(count) cut into at most `parts` contiguous, near-equal, non-empty ranges."""
    parts = min(parts, count)
    if parts < 1:
        return []
    bounds = [count * k // parts for k in range(parts + 1)]
    return [range(bounds[k], bounds[k + 1]) for k in range(parts)]


CHUNKED_FROM = 200  # fewer pieces of statistics take less than a worker's start (~0.1 s)


def map_chunked(fn: Callable[[int], Any], count: int) -> list[Any]:
    """[fn(i) for i in range(count)]; from CHUNKED_FROM on cut into one contiguous chunk per CPU,
    each computed in a forked worker (a configuration's statistics cost about a millisecond:
    one worker per configuration would cost more than it saves)."""
    if count < CHUNKED_FROM:
        return [fn(i) for i in range(count)]

    def chunk(part: range) -> list[Any]:
        return [fn(i) for i in part]

    return [out for outs in fork_map(chunk, chunks(count, cpus())) for out in outs]
