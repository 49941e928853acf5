"""A process tree's CPU time from /proc, for `bench.trial.noise`: the trial and what it spawned.

`ProcessTree` adds up the CPU time of a process and of its live descendants (data-loader
workers, compiler worker pools), so that the noise probe can tell this trial's CPU use from
everyone else's. `read_small` reads one small /proc or /sys file with raw `os` calls; every
path is passed in, so tests point the readers at a fake /proc tree.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

PROC = Path("/proc")
RESCAN_S = 2.0  # how often `ProcessTree` looks for new descendants


def read_small(path: Path) -> str | None:
    """A small /proc or /sys file's text, or None (raw `os` calls: half `Path.read_text`'s cost)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return b"".join(chunks).decode("ascii", errors="replace")
    except OSError:
        return None
    finally:
        os.close(fd)


def read_process_jiffies(pid: int, proc: Path = PROC) -> int | None:
    """utime + stime + cutime + cstime of a process (its threads, and its children it has
    waited for) from /proc/<pid>/stat; None once it is gone."""
    text = read_small(proc / str(pid) / "stat")
    if text is None:
        return None
    fields = text.rpartition(")")[2].split()  # the name in parentheses may hold spaces
    try:
        return sum(int(v) for v in fields[11:15])  # fields 14–17 of proc(5), after the name
    except ValueError:
        return None


def _direct_children(pid: int, proc: Path) -> list[int] | None:
    """Children of `pid` from /proc/<pid>/task/*/children; None where the kernel lacks them."""
    try:
        tasks = os.listdir(proc / str(pid) / "task")
    except OSError:
        return []
    out: list[int] = []
    for task in tasks:
        text = read_small(proc / str(pid) / "task" / task / "children")
        if text is None:
            if (proc / str(pid) / "task" / task).is_dir():
                return None  # the thread is there, its children file is not
            continue  # the thread ended meanwhile
        out += [int(v) for v in text.split() if v.isdigit()]
    return out


class ProcessTree:
    """CPU jiffies of a process and its descendants (data-loader workers, compiler workers).

    Live descendants are found every `rescan_s` (/proc/<pid>/task/*/children, else psutil);
    each reading sums the root's and every known live descendant's utime + stime + cutime +
    cstime. A descendant that exits moves its time into its parent's cutime/cstime when it is
    waited for, so the sum does not double count; one that lived and ended between two scans is
    still counted through that parent."""

    def __init__(
        self,
        pid: int,
        proc: Path = PROC,
        rescan_s: float = RESCAN_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pid = pid
        self._proc = proc
        self._rescan_s = rescan_s
        self._clock = clock
        self._next_scan = -float("inf")
        self.descendants: list[int] = []

    def _scan(self) -> None:
        found: list[int] = []
        queue = [self.pid]
        while queue:
            children = _direct_children(queue.pop(), self._proc)
            if children is None:  # no children files: ask psutil once for the whole tree
                found = _psutil_descendants(self.pid)
                break
            found += children
            queue += children
        self.descendants = found

    def jiffies(self) -> int | None:
        """The tree's CPU jiffies so far; None when the root is unreadable."""
        now = self._clock()
        if now >= self._next_scan:
            self._scan()
            self._next_scan = now + self._rescan_s
        root = read_process_jiffies(self.pid, self._proc)
        if root is None:
            return None
        alive, total = [], root
        for pid in self.descendants:
            used = read_process_jiffies(pid, self._proc)
            if used is not None:
                alive.append(pid)
                total += used
        self.descendants = alive
        return total


def _psutil_descendants(pid: int) -> list[int]:
    import psutil

    try:
        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return []
