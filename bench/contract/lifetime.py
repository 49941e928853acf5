"""The rule every child process of bench follows: it dies with the process that started it.

A trial's child, a data-parallel rank and a report's figure worker call `die_with_parent` first.
On Linux the kernel sends it SIGKILL when its parent dies (`prctl(PR_SET_PDEATHSIG)`; the parent
is the process that started it, named by `PARENT_VARIABLE` where it set one, so that a parent
that died before this call is noticed too); elsewhere a daemon thread checks once a second. So a
SIGKILLed `bench run` leaves nothing running that could go on writing into a run folder.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

PARENT_VARIABLE = "BENCH_PARENT_PID"
_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int | None = None) -> None:
    """Make this process end when `parent` (default: `$BENCH_PARENT_PID`, else the current
    parent) ends; end it now if that parent is already gone."""
    if parent is None:
        parent = int(os.environ.get(PARENT_VARIABLE) or os.getppid())
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    else:
        threading.Thread(target=_watch, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # it died before the kernel could be asked to tell us
        os._exit(1)


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)
