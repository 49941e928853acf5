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

from bench.contract.recipe import Recipe

MIG_PREFIX = "MIG-"  # NVML's UUID of a MIG slice


def is_mig_uuid(uuid: str | None) -> bool:
    """True for a MIG device's UUID (`MIG-<uuid>`, or `MIG-GPU-<uuid>/<gi>/<ci>` before R470)."""
    return bool(uuid) and str(uuid).startswith(MIG_PREFIX)


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
    device_index: int | None  # NVML index of the GPU's board; None for the CPU
    device_name: str
    threads: int
    precision: str  # fp32 | tf32 | bf16 | fp16 ([sweep] precisions)
    batch_size: int
    repeat: int
    epochs: int
    steps_per_epoch: int
    optimizer: str
    learning_rate: float
    seed: int
    timeout_s: float
    monitor_interval_s: float | None = None
    record_steps: bool = True  # steps.csv ([monitor] steps)
    skip: str = ""
    fake: dict[str, Any] = field(default_factory=dict)
    pipeline: str = "memory"  # memory | loader ([data] pipeline)
    workers: int = 2  # torch DataLoader workers of the loader pipeline
    augment: bool = False  # random flip + rotation, loader pipeline only
    val_fraction: float = 0.1
    evaluate: bool = True
    device_uuid: str = ""  # "GPU-…" / "MIG-…" from NVML; "" for the CPU or without one
    autotune: str = "default"  # default | off | on ([sweep] autotune)
    definition: str = "spec"  # spec (models.spec, built by bench) | native (the user's factory)
    native: str = ""  # a native model's factory for this framework: "module:factory"
    user_models: dict[str, Any] = field(default_factory=dict)  # [models], as `models.user` reads
    parallel: str = "single"  # single | data ([sweep] parallel)
    world_size: int = 1  # replicas of a data-parallel trial (1 for single)
    rank: int = 0  # this process's rank (set per rank by bench.launchers.ranks)
    # The GPUs of a data-parallel CUDA trial, one per rank: (NVML index, UUID); () on the CPU.
    rank_gpus: tuple[tuple[int, str], ...] = ()
    # The rest of the optimizer recipe ([train]; `bench.contract.recipe`).
    momentum: float = 0.0
    weight_decay: float = 0.0
    implementation: str = "default"  # default | foreach | fused | for-loop (torch's kernels)
    clip_grad_norm: float = 0.0  # 0: off
    lr_schedule: str = "constant"  # constant | linear | cosine
    warmup_steps: int = 0

    @property
    def recipe(self) -> Recipe:
        """The optimizer recipe this trial trains with."""
        return Recipe(
            self.optimizer,
            self.learning_rate,
            self.momentum,
            self.weight_decay,
            self.implementation,
            self.clip_grad_norm,
            self.lr_schedule,
            self.warmup_steps,
        )

    @property
    def total_steps(self) -> int:
        """Optimizer steps of the whole trial: epochs × steps per epoch."""
        return self.epochs * self.steps_per_epoch

    @property
    def global_batch_size(self) -> int:
        """Samples of one step over every replica: batch size (per replica) × world size."""
        return self.batch_size * self.world_size

    @property
    def samples_per_epoch(self) -> int:
        """Samples of one epoch over every replica."""
        return self.steps_per_epoch * self.global_batch_size

    @property
    def rank_samples_per_epoch(self) -> int:
        """Samples one replica trains per epoch (all of them for a single-device trial)."""
        return self.steps_per_epoch * self.batch_size

    @property
    def mig_slice(self) -> bool:
        """True when the trial runs on a MIG slice (board-level power, energy, utilisation)."""
        return is_mig_uuid(self.device_uuid)

    @property
    def gpu_key(self) -> int | str | None:
        """How NVML finds the trial's GPU: its UUID, else its NVML index; None on the CPU."""
        if self.device_kind != "cuda":
            return None
        return self.device_uuid or self.device_index

    @property
    def gpu_keys(self) -> tuple[int | str, ...]:
        """Every GPU this trial's process drives, as NVML finds them (`gpu_key`): a one-process
        data-parallel trial's (Keras) N GPUs, else its one; () on the CPU."""
        if self.device_kind != "cuda":
            return ()
        if self.rank_gpus and not self.launches_ranks:
            return tuple(uuid or index for index, uuid in self.rank_gpus)
        key = self.gpu_key
        return () if key is None else (key,)

    @property
    def launches_ranks(self) -> bool:
        """A data-parallel trial run as one process per rank (torch; the scripted fake). Keras
        trains data-parallel inside one process, over that process's devices."""
        return self.parallel == "data" and self.framework != "keras"

    @property
    def cuda_visible_id(self) -> str:
        """The child's `CUDA_VISIBLE_DEVICES`: the GPU's UUID, else its NVML index; "" on CPU.
        A one-process data-parallel trial (Keras) sees all of its GPUs."""
        if self.rank_gpus and not self.launches_ranks and self.device_kind == "cuda":
            return ",".join(uuid or str(index) for index, uuid in self.rank_gpus)
        key = self.gpu_key
        return "" if key is None else str(key)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Trial:
        data = dict(data)
        data["input_shape"] = tuple(data["input_shape"])
        data["rank_gpus"] = tuple(tuple(g) for g in data.get("rank_gpus", ()))
        return cls(**data)
