"""Stopping a run from outside: Ctrl-C, SIGTERM and SIGHUP all stop it the same way.

`kill`, systemd, Slurm and CI runners send SIGTERM; a closed terminal sends SIGHUP. After
`catch()` each raises `Stopped` (a `KeyboardInterrupt`) in the main thread, so the one Ctrl-C path
runs: the trial's process group is stopped, what it measured is kept and recorded
`interrupted`, the run folder stays resumable, and the command exits 128 + the signal's number
(130 Ctrl-C, 143 SIGTERM, 129 SIGHUP), as a shell reports a process that signal ended.
"""

from __future__ import annotations

import signal
from types import FrameType

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
_last = [signal.SIGINT]


class Stopped(KeyboardInterrupt):
    """A stop signal other than Ctrl-C arrived."""


def _stop(signum: int, frame: FrameType | None) -> None:
    _last[0] = signal.Signals(signum)
    raise Stopped(signal.Signals(signum).name)


def catch() -> None:
    """From now on SIGTERM and SIGHUP stop this process as Ctrl-C does (main thread only)."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, _stop)


def reason() -> str:
    """What stopped the run: "Ctrl-C", or the signal's name."""
    return "Ctrl-C" if _last[0] == signal.SIGINT else _last[0].name


def exit_code() -> int:
    """128 + the number of the signal that stopped the run (130 for Ctrl-C)."""
    return 128 + int(_last[0])
