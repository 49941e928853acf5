"""What one trial is: the `Trial` the parent plans and hands to the child as TRIAL.json.

Everything a trial's child process needs to run (model, data, device, threads, batch size, epochs,
optimizer, timeout, ...) and the trial's identity in the result tables. The parent writes it with
`to_json`; `python -m bench.trial` reads it back with `from_json`. Runners read it; nothing here
imports a framework.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Trial:
    """Everything a child process needs to run one trial, and the trial's identity."""

    trial_id: str
    order: int
    framework: str
    backend: str
    mode: str
    cache: str
    model: str
    model_options: dict[str, Any]
    input_shape: tuple[int, int, int]
    classes: int
    dataset: str
    device: str
    device_kind: str
    device_index: int | None
    device_name: str
    threads: int
    precision: str
    batch_size: int
    repeat: int
    epochs: int
    steps_per_epoch: int
    optimizer: str
    learning_rate: float
    seed: int
    timeout_s: float
    monitor_interval_s: float | None = None
    skip: str = ""
    fake: dict[str, Any] = field(default_factory=dict)
    pipeline: str = "memory"  # memory | loader ([data] pipeline)
    workers: int = 2  # torch DataLoader workers of the loader pipeline
    augment: bool = False  # random flip + rotation, loader pipeline only
    val_fraction: float = 0.1
    evaluate: bool = True

    @property
    def samples_per_epoch(self) -> int:
        return self.steps_per_epoch * self.batch_size

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Trial:
        data = dict(data)
        data["input_shape"] = tuple(data["input_shape"])
        return cls(**data)
