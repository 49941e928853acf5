"""How long the rest of a sweep will take, from what trials of the same kind took.

A trial's kind is (framework, backend, mode, model, input shape, device, batch size, epochs,
steps per epoch). During a run, each unfinished trial is expected to take the median of the
finished trials of its kind, else of its (framework, model, device), else of all finished trials.
Before a run (`--dry-run`), earlier runs of this host in the output folder supply the durations:
a finished trial took about set-up + first epoch + (epochs − 1) × steady epoch; without an
earlier trial of every planned kind there is no estimate.
"""

from __future__ import annotations

import csv
import json
import socket
import statistics
from pathlib import Path
from typing import Any

KIND = (
    "framework",
    "backend",
    "mode",
    "model",
    "input_shape",
    "device",
    "batch_size",
    "epochs",
    "steps_per_epoch",
)


def kind(trial: Any) -> tuple[str, ...]:
    """A trial's kind, from a `Trial` or a trials.csv row."""
    get = trial.get if isinstance(trial, dict) else lambda k: getattr(trial, k)
    values = []
    for k in KIND:
        v = get(k)
        values.append("x".join(map(str, v)) if isinstance(v, tuple) else str(v))
    return tuple(values)


def _coarse(key: tuple[str, ...]) -> tuple[str, ...]:
    return (key[0], key[3], key[5])  # framework, model, device


class Eta:
    """Time left in a sweep: `done(trial, seconds)` as trials finish, `remaining(trials)`."""

    def __init__(self, prior: dict[tuple[str, ...], list[float]] | None = None) -> None:
        self._took: dict[tuple[str, ...], list[float]] = {
            k: list(v) for k, v in (prior or {}).items()
        }

    def done(self, trial: Any, seconds: float) -> None:
        self._took.setdefault(kind(trial), []).append(seconds)

    def expected(self, trial: Any) -> float | None:
        key = kind(trial)
        if self._took.get(key):
            return statistics.median(self._took[key])
        coarse = [s for k, v in self._took.items() if _coarse(k) == _coarse(key) for s in v]
        if coarse:
            return statistics.median(coarse)
        every = [s for v in self._took.values() for s in v]
        return statistics.median(every) if every else None

    def remaining(self, trials: list[Any]) -> float | None:
        """Seconds the `trials` still to run will take; None before any estimate exists."""
        guesses = [self.expected(t) for t in trials]
        return None if any(g is None for g in guesses) else sum(guesses)

    def covers(self, trials: list[Any]) -> bool:
        """Whether an earlier trial of every kind in `trials` is known."""
        return all(self._took.get(kind(t)) for t in trials)


def earlier_durations(output_dir: Path, host: str | None = None) -> dict[tuple, list[float]]:
    """Trial durations by kind from this host's earlier runs in `output_dir` (trials.csv)."""
    host = host or socket.gethostname()
    took: dict[tuple[str, ...], list[float]] = {}
    for meta_path in sorted(Path(output_dir).glob("*/run.json")):
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            if meta.get("host", {}).get("hostname") != host:
                continue
            with open(meta_path.parent / "trials.csv", newline="", encoding="utf-8") as f:
                rows = list(csv.DictReader(f))
        except (OSError, ValueError, AttributeError):
            continue
        for row in rows:
            if (seconds := _duration(row)) is not None:
                took.setdefault(kind(row), []).append(seconds)
    return took


def _duration(row: dict[str, str]) -> float | None:
    try:
        epochs = int(row["epochs"])
        return (
            float(row["setup_s"])
            + float(row["first_epoch_s"])
            + (epochs - 1) * float(row["steady_epoch_s"])
        )
    except (KeyError, ValueError):
        return None  # not ok, or a column this run did not have
