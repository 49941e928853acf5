"""Config + devices → the ordered list of trials to run (pure and deterministic).

Order: repeats outermost, so that every configuration is measured once before any is measured
again (slow drift of the machine — thermals, other load — spreads over all of them), and the
frameworks innermost, so that the two frameworks of one configuration run back to back.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.config import Config
    from bench.devices import Device

BACKEND = {"torch": "torch", "keras": "tensorflow", "fake": "fake"}
MODE = {"torch": "eager", "keras": "graph", "fake": "scripted"}


@dataclass(frozen=True, slots=True)
class Trial:
    """Everything a child process needs to run one trial, and the trial's identity."""

    trial_id: str
    order: int
    framework: str
    backend: str
    mode: str
    model: str
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
    fake: dict[str, Any] = field(default_factory=dict)

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


def _trial_id(order: int, framework: str, model: str, device: str, bs: int, th: int, rep: int):
    return f"{order:03d}-{framework}-{model}-{device.replace(':', '')}-b{bs}-t{th}-r{rep}"


def plan(config: Config, devices: list[Device], default_threads: int) -> list[Trial]:
    """Expand the sweep over `devices` (already resolved) into ordered trials."""
    from models import zoo

    sweep, train = config.sweep, config.train
    thread_counts = sweep.threads or (default_threads,)
    trials: list[Trial] = []
    for repeat in range(sweep.repeats):
        for model in sweep.models:
            spec = zoo.get(model)
            for device in devices:
                # Thread count matters to CPU trials; a GPU trial runs once, with the most.
                counts = thread_counts if device.kind == "cpu" else (max(thread_counts),)
                for batch_size in sweep.batch_sizes:
                    for threads in counts:
                        for framework in sweep.frameworks:
                            order = len(trials)
                            trials.append(
                                Trial(
                                    trial_id=_trial_id(
                                        order,
                                        framework,
                                        model,
                                        device.name,
                                        batch_size,
                                        threads,
                                        repeat,
                                    ),
                                    order=order,
                                    framework=framework,
                                    backend=BACKEND[framework],
                                    mode=MODE[framework],
                                    model=model,
                                    input_shape=spec.input_shape,
                                    classes=spec.classes,
                                    dataset=config.data.dataset,
                                    device=device.name,
                                    device_kind=device.kind,
                                    device_index=device.index,
                                    device_name=device.label,
                                    threads=threads,
                                    precision="fp32",
                                    batch_size=batch_size,
                                    repeat=repeat,
                                    epochs=train.epochs,
                                    steps_per_epoch=train.samples // batch_size,
                                    optimizer=train.optimizer,
                                    learning_rate=train.learning_rate,
                                    seed=config.data.seed,
                                    timeout_s=train.timeout_s,
                                    fake=dataclasses.asdict(config.fake),
                                )
                            )
    return trials
