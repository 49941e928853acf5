"""One interface for starting a trial's processes: the `Launcher` protocol and `launcher_for`.

A launcher runs one planned trial to its end on this machine and returns its `Outcome`: a
single-device trial as one fresh child (`bench.launchers.local.run_trial`), a data-parallel torch
(or scripted fake) trial as one process per rank (`bench.launchers.ranks.run_ranks`). The local
sweep, a warm-cache fill and a cluster job (`bench.launchers.submitit_job`, on its node) all ask
`launcher_for(trial)` which one, so the choice is made in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from bench.contract.trial import Trial
from bench.launchers.local import run_trial
from bench.launchers.process import Outcome
from bench.launchers.ranks import run_ranks


class Launcher(Protocol):
    """Run `trial` with its working files in `work_dir` and its output in `log_path`, relaying
    each event to `on_event`, its compiler caches in `cache_dir` (None: fresh and removed), each
    process id that leads a process group to `on_spawn`; stop it at its timeout or on Ctrl-C."""

    def __call__(
        self,
        trial: Trial,
        work_dir: Path,
        log_path: Path,
        on_event: Callable[[dict[str, Any]], None] = ...,
        poll_s: float = ...,
        cache_dir: Path | None = ...,
        on_spawn: Callable[[int], None] = ...,
    ) -> Outcome: ...


def launcher_for(trial: Trial) -> Launcher:
    """The launcher that runs `trial`: its ranks for a multi-process data-parallel trial, one
    child otherwise."""
    return run_ranks if trial.launches_ranks else run_trial
