"""A scripted runner: no framework, phase and epoch times from the config's [fake] section.

It drives the end-to-end tests deterministically (like hyperfine's mock executor). Time is
virtual unless `sleep = true`: the runner advances its own clock by the scripted durations, so
every phase and epoch lasts exactly what the script says (an epoch's steps share its time
evenly; epoch 1's first step lasts `first_step_s`, its others share the rest) — times `slowdown`
for the models in `slow_models` (a slower configuration, for testing `compare`). `fail` makes a
trial fail for real in the chosen way at the start of epoch `fail_epoch`: raise an exception,
exit non-zero, kill itself with SIGKILL, hang (for timeouts), or raise MemoryError (recorded as
`oom`); in a data-parallel trial, in every rank or only in rank `fail_rank` (the rank
supervisor's tests).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from typing import TYPE_CHECKING

from bench.runners.base import no_sync

if TYPE_CHECKING:
    from bench.contract.clock import TrainingClock
    from bench.contract.trial import Trial


class FakeRunner:
    def __init__(self, trial: Trial) -> None:
        self.trial = trial
        self.script = trial.fake
        slow = trial.model in self.script.get("slow_models", ())
        self.factor = self.script.get("slowdown", 1.0) if slow else 1.0
        self._now = self.script["phase_s"] * self.factor  # the scripted spawn has passed
        self.time_fn = None if self.script["sleep"] else self._virtual_time

    def _virtual_time(self) -> float:
        return self._now

    def _spend(self, seconds: float) -> None:
        seconds *= self.factor  # `slow_models` take `slowdown` × every scripted duration
        if self.script["sleep"]:
            time.sleep(seconds)
        else:
            self._now += seconds

    def _phase(self) -> None:
        self._spend(self.script["phase_s"])

    def import_framework(self) -> str:
        self._phase()
        return "fake-1"

    def init_device(self) -> None:
        self._phase()

    def make_data(self) -> None:
        self._phase()

    def build(self) -> tuple[int, int]:
        self._phase()
        return 1000, 10

    def compile(self) -> None:
        self._phase()

    def _maybe_fail(self, epoch: int) -> None:
        how, rank = self.script["fail"], self.script.get("fail_rank", -1)
        if how == "none" or epoch != self.script["fail_epoch"] or rank not in (-1, self.trial.rank):
            return
        if how == "raise":
            raise RuntimeError(f"scripted failure in epoch {epoch}")
        if how == "exit":
            print(f"scripted exit in epoch {epoch}", file=sys.stderr, flush=True)
            os._exit(3)
        if how == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if how == "oom":
            raise MemoryError(f"scripted out-of-memory in epoch {epoch}")
        while True:  # hang
            time.sleep(1.0)

    def fit(self, clock: TrainingClock) -> None:
        epoch_s = self.script["epoch_s"]
        clock.start_training()
        for epoch in range(1, self.trial.epochs + 1):
            if epoch > 1:
                clock.epoch_begin()
            self._maybe_fail(epoch)
            wall = epoch_s[min(epoch - 1, len(epoch_s) - 1)]
            if epoch == 1:
                first = self.script["first_step_s"]
                self._spend(first)
                clock.first_step_done()
                self._steps(clock, max(wall - first, 0.0), self.trial.steps_per_epoch - 1, first)
            else:
                self._steps(clock, wall, self.trial.steps_per_epoch)
            clock.epoch_end(1.0 / epoch)

    def _steps(self, clock: TrainingClock, seconds: float, steps: int, done: float = -1) -> None:
        """`steps` steps sharing `seconds` evenly, each marked (`done` ≥ 0: a step of that
        length has just run unmarked, the first of epoch 1; with no step left, the time left
        ends it)."""
        if done >= 0 and steps == 0:
            self._spend(seconds)
        if done >= 0:
            clock.step_done()
        for _ in range(steps):
            self._spend(seconds / steps)
            clock.step_done()

    sync = staticmethod(no_sync)

    def device_peaks(self) -> list:
        return []

    def stats(self) -> dict[str, float | int | None]:
        return {}

    def settings(self) -> dict[str, str]:
        return {"fake.sleep": str(self.script["sleep"])}


def make(trial: Trial) -> FakeRunner:
    return FakeRunner(trial)
