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


class TrainingClock(Protocol):
    """The clock calls a runner makes: each boundary after the device is synchronized."""

    @property
    def epoch(self) -> int:
        """The 1-based number of the epoch running now (0 before training starts)."""
        ...

    def note(self, event: dict[str, Any]) -> None: ...
    def start_training(self) -> None: ...
    def first_step_done(self) -> None: ...
    def epoch_begin(self) -> None: ...
    def epoch_end(self, loss: Callable[[], float | None] | float | None) -> None: ...
