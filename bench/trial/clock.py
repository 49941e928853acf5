"""The harness's clock: phase and epoch boundaries, taken after the device is synchronized.

Every framework's runner calls the same four methods at the same points of its own loop:

    clock.mark(phase)        end of a start-up phase (the harness calls it for the first five)
    clock.start_training()   end of `compile`; epoch 1 and its first step start now
    clock.first_step_done()  after the first optimizer step of epoch 1
    clock.step_done()        after every step (no sync: it only marks the step's end)
    clock.epoch_end(loss)    after the last step of an epoch
    clock.epoch_begin()      before the first step of epochs 2..E

Start-up phases tile the time from the parent's spawn to the end of epoch 1 without gaps. Epochs
2..E are timed from `epoch_begin` to `epoch_end`; the harness's own bookkeeping (reading and
resetting memory peaks, writing the result file) happens outside those intervals. Each boundary
first calls `sync()` — `torch.cuda.synchronize()` on CUDA, a host fetch for Keras (on JAX, a
wait on the trainer's state) — so the clock reads the time only when the device has finished the
work. An epoch event carries its `start_s` (on the phases' origin) beside `wall_s`, so that
readings taken by the sampler on the same origin can be matched to the epoch's own window; it is
not an epochs.csv column.

Steps (steps.csv, `[monitor] steps`): the step timer (`HostSteps`, the clock's own time source,
unless the runner hands it a device timer: CUDA events) starts with the epoch, marks each
`step_done`, and is read at `epoch_end` after the sync, as a `steps` event with every step's
wall time; a step the loop did not mark (Keras marks a step's end at the next step's start)
ends at the epoch's end. Marking a step costs a time read and an append (docs/benchmarks.md).

A data-parallel rank also sets a barrier (`set_barrier`): then every epoch runs barrier → start
→ epoch → device sync → local end → barrier → global end. The epoch's `wall_s` is the global
one (start to the end of the barrier); `local_s` is this rank's own work and `barrier_wait_s`
its wait for the slowest rank. Epoch 1 starts after a barrier at the end of `compile` (so that
phase, on a fast rank, includes the wait for the others to get there).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bench.contract.clock import EnergyProbe, PeakProbe, StepTimer


class HostSteps:
    """Each step's wall time from host timestamps: the time between consecutive step ends."""

    def __init__(self, time_fn: Callable[[], float]) -> None:
        self._now = time_fn
        self._stamps: list[float] = []

    def begin(self, now: float) -> None:
        self._stamps = [now]

    def step(self) -> None:
        self._stamps.append(self._now())

    def walls(self, now: float, steps: int) -> list[float]:
        stamps = self._stamps[: steps + 1]
        if len(stamps) <= steps:
            stamps.append(now)
        return [round(b - a, 9) for a, b in zip(stamps, stamps[1:], strict=False)]


class Clock:
    def __init__(
        self,
        *,
        origin: float,
        start: float,
        sync: Callable[[], None],
        emit: Callable[[dict[str, Any]], None],
        host_peak: PeakProbe,
        steps_per_epoch: int,
        batch_size: int,
        time_fn: Callable[[], float] = time.monotonic,
        energy: EnergyProbe | None = None,
        steps: StepTimer | None = None,
    ) -> None:
        self._origin = origin
        self._last = start
        self._sync = sync
        self._emit = emit
        self._host = host_peak
        self._devices: list[PeakProbe] = []
        self._steps = steps_per_epoch
        self._batch = batch_size
        self._now = time_fn
        self._energy = energy
        self._pending: list[dict[str, Any]] = []
        self._epoch = 0
        self._epoch_start = 0.0
        self._first_step_done = False
        self._barrier: Callable[[], None] | None = None
        self._timer = steps
        self._record_phase("spawn", origin, start)

    @property
    def epoch(self) -> int:
        """The 1-based number of the epoch running now (0 before training starts)."""
        return self._epoch

    def _record_phase(self, phase: str, start: float, end: float) -> None:
        self._pending.append(
            {
                "event": "phase",
                "phase": phase,
                "start_s": round(start - self._origin, 9),
                "duration_s": round(end - start, 9),
            }
        )

    def set_device_peaks(self, probes: list[PeakProbe]) -> None:
        """Attach device-memory probes, primary first, once the device exists."""
        self._devices = list(probes)

    @property
    def records_steps(self) -> bool:
        """Whether the trial records its steps (steps.csv)."""
        return self._timer is not None

    def set_step_timer(self, timer: StepTimer) -> None:
        """Time steps with the device's own clock (a runner's `step_timer`) instead."""
        self._timer = timer

    def step_done(self) -> None:
        """A step has been issued: mark its end (no sync)."""
        if self._timer is not None:
            self._timer.step()

    def set_barrier(self, barrier: Callable[[], None]) -> None:
        """Wait for every rank at each epoch's start and end (a data-parallel trial)."""
        self._barrier = barrier

    def _wait_all(self) -> None:
        if self._barrier is not None:
            self._barrier()
            self._sync()

    def note(self, event: dict[str, Any]) -> None:
        """Queue an event for the sink; it is written at the next flush, outside timed work."""
        self._pending.append(event)

    def _reset_peaks(self) -> None:
        for probe in (self._host, *self._devices):
            probe.reset()
        if self._energy is not None:
            self._energy.begin()

    def mark(self, phase: str) -> float:
        """End the current start-up phase, naming it `phase`; return the time.

        Before training (`harness` … `build`) the phase is handed to the sink at once, so the
        parent can show it live; that write (about 5 µs, measured) is charged to the next
        phase. From `compile` on, events wait for the end of epoch 1, outside any timed work."""
        self._sync()
        now = self._now()
        self._record_phase(phase, self._last, now)
        self._last = now
        if self._epoch == 0 and phase != "compile":
            self.flush()
        return now

    def start_training(self) -> None:
        """End `compile`; epoch 1, and its first step, start now."""
        self.note({"event": "setup_peak", "peak_rss_bytes": self._host.peak()})
        self._reset_peaks()
        self._epoch = 1
        self._wait_all()
        self._epoch_start = self.mark("compile")
        if self._timer is not None:
            self._timer.begin(self._epoch_start)

    def first_step_done(self) -> None:
        self.mark("first_step")
        self._first_step_done = True

    def epoch_begin(self) -> None:
        """Start timing epoch 2..E (epoch 1 starts in `start_training`)."""
        self._reset_peaks()
        self._epoch += 1
        self._sync()
        self._wait_all()
        self._epoch_start = self._now()
        if self._timer is not None:
            self._timer.begin(self._epoch_start)

    def epoch_end(self, loss: Callable[[], float | None] | float | None) -> None:
        """Stop the epoch's clock, then record it (and epoch 1's remaining phase)."""
        self._sync()
        local = now = self._now()
        if self._barrier is not None:
            self._wait_all()
            now = self._now()
        if self._epoch == 1:
            if not self._first_step_done:  # a one-step epoch: its only step is the first
                self._record_phase("first_step", self._last, now)
                self._last = now
            self._record_phase("first_epoch_rest", self._last, now)
            self._last = now
        energy = self._energy.reading() if self._energy is not None else None
        memory = {p.source: p.peak() for p in (self._host, *self._devices)}
        primary = self._devices[0].source if self._devices else ""
        self._pending.append(
            {
                "event": "epoch",
                "epoch": self._epoch,
                "start_s": round(self._epoch_start - self._origin, 9),
                "wall_s": round(now - self._epoch_start, 9),
                "steps": self._steps,
                "samples": self._steps * self._batch,
                "loss": loss() if callable(loss) else loss,
                "peak_rss_bytes": memory[self._host.source],
                "peak_device_bytes": memory[primary] if primary else None,
                "device_mem_source": primary,
                "memory": memory,
                "energy_j": energy.total_j if energy is not None else None,
                "energy_cpu_j": energy.cpu_j if energy is not None else None,
                "energy_gpu_j": energy.gpu_j if energy is not None else None,
                "energy_source": self._energy.sources if self._energy is not None else "",
            }
        )
        if self._barrier is not None:
            self._pending[-1] |= {
                "local_s": round(local - self._epoch_start, 9),
                "barrier_wait_s": round(now - local, 9),
            }
        if self._timer is not None:  # this process's own steps, up to its own end
            walls = self._timer.walls(local, self._steps)
            self._pending.append({"event": "steps", "epoch": self._epoch, "wall_s": walls})
        self.flush()

    def flush(self) -> None:
        """Hand every recorded event to the sink (outside any timed interval)."""
        for event in self._pending:
            self._emit(event)
        self._pending.clear()
