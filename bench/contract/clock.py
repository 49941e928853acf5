"""What a runner sees of the harness's clock, and the probes the clock reads: protocols only.

The clock itself (`bench.trial.clock.Clock`) lives with the child that owns it; a runner is handed
one and calls these methods at the points of its own loop that `bench.trial.clock` describes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


class PeakProbe(Protocol):
    """A memory peak since the last `reset` (host RSS, a device allocator counter)."""

    source: str

    def reset(self) -> None: ...
    def peak(self) -> int | None: ...


class EnergyProbe(Protocol):
    """Energy since `begin()` (bench.trial.energy.EnergyMeter)."""

    sources: str

    def begin(self) -> None: ...
    def reading(self) -> Any: ...


class StepTimer(Protocol):
    """Each step's wall time within an epoch, read at the epoch's end (`bench.trial.clock`):
    host timestamps, or a device's own events (CUDA: `bench.runners.torch_device`)."""

    def begin(self, now: float) -> None:
        """The epoch starts (the device synchronized; `now` the host time)."""
        ...

    def step(self) -> None:
        """A step has been issued: mark its end — no synchronization."""
        ...

    def walls(self, now: float, steps: int) -> list[float]:
        """After the epoch's final sync: the `steps` wall times (the last one closed at host
        time `now` where the loop marked fewer)."""
        ...


class TrainingClock(Protocol):
    """The clock calls a runner makes: each boundary after the device is synchronized."""

    @property
    def epoch(self) -> int:
        """The 1-based number of the epoch running now (0 before training starts)."""
        ...

    def note(self, event: dict[str, Any]) -> None: ...
    def start_training(self) -> None: ...
    def first_step_done(self) -> None: ...
    def step_done(self) -> None: ...
    def epoch_begin(self) -> None: ...
    def epoch_end(self, loss: Callable[[], float | None] | float | None) -> None: ...
