"""The result schema, defined once: one dataclass per CSV table, columns in field order.

Units live in column names (`_s` seconds, `_bytes`, `_j` joules). `None` is written as an empty
cell: "not measurable here", never zero. Bump `SCHEMA_VERSION` whenever a column is added,
removed, renamed or changes meaning; docs/results.md documents every column (tests/test_docs.py
checks it).

Older result folders stay readable: `ADDED_IN_VERSION` lists the columns each version added, so
`columns_in_version` gives the header a folder of an older version has; analysis reads such a
folder with the later columns empty. Versions before `OLDEST_READABLE_VERSION` are not read.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from bench.contract.roles import (  # noqa: F401  (re-exported: the schema's names)
    IDENTITY_COLUMNS,
    MACHINE_COLUMNS,
    MEASURED_COLUMNS,
    NOISE_TRIAL_COLUMNS,
    REPEAT_COLUMNS,
    STEP_COLUMNS,
)

SCHEMA_VERSION = 6
OLDEST_READABLE_VERSION = 3
# Columns added by each version, per table (every one optional: empty in older folders).
ADDED_IN_VERSION: dict[int, dict[str, tuple[str, ...]]] = {
    4: {
        "trials.csv": (
            "device_uuid",
            "gpu_readings",
            "peak_calibrated_by",
            "mfu_calibrated_own",
            "peak_spec_note",
        )
    },
    5: {
        "trials.csv": (
            "autotune",
            *NOISE_TRIAL_COLUMNS,
            "definition",
            "node",
            "parallel",
            "world_size",
            "straggler_wait_s",
        ),
        "samples.csv": ("load_avg_1m", "cpu_steal_pct", "other_cpu_pct", "cpu_freq_mhz"),
    },
    6: {"trials.csv": STEP_COLUMNS},
}
# Tables that came later, whole: an older folder has none (read as empty).
TABLE_ADDED_IN_VERSION = {"ranks.csv": 5, "steps.csv": 6}
# What a later column's cell means in an older folder where it is missing, when not "empty":
# before version 5 every trial ran with each framework's autotuning as it ships, every model was
# a spec model (bench built it), and every trial ran on one device.
OLDER_VALUES: dict[str, str | int] = {
    "autotune": "default",
    "definition": "spec",
    "parallel": "single",
    "world_size": 1,
}

STATUSES = ("ok", "failed", "timeout", "oom", "skipped", "interrupted", "preempted")
PHASES = (
    "spawn",
    "harness",
    "import",
    "device_init",
    "dist_init",
    "data",
    "build",
    "wrap",
    "compile",
    "first_step",
    "first_epoch_rest",
)
DIST_PHASES = ("dist_init", "wrap")  # only a data-parallel trial has these
SINGLE_PHASES = tuple(p for p in PHASES if p not in DIST_PHASES)  # a single-device trial's


@dataclass(slots=True)
class TrialRow:
    """trials.csv: one row per trial — identity, sizes, status, headline figures."""

    run_id: str
    trial_id: str
    order: int
    framework: str
    backend: str
    mode: str
    cache: str
    model: str
    model_options: str
    # spec (bench built it from models.spec) | native (the user's own torch/Keras factory)
    definition: str = field(default="spec", kw_only=True)
    dataset: str
    # Data identity and input pipeline (keyword-only: they have defaults but sit with `dataset`).
    pipeline: str = field(default="memory", kw_only=True)
    workers: int | None = field(default=None, kw_only=True)
    augment: str = field(default="none", kw_only=True)
    dataset_path: str = field(default="", kw_only=True)
    dataset_checksum: str = field(default="", kw_only=True)
    dataset_files: int | None = field(default=None, kw_only=True)
    dataset_skipped: int | None = field(default=None, kw_only=True)
    dataset_samples: int | None = field(default=None, kw_only=True)
    val_samples: int | None = field(default=None, kw_only=True)
    input_shape: str
    classes: int
    device: str
    device_name: str
    # The GPU's NVML UUID and whether its NVML readings are its own or its MIG board's.
    device_uuid: str = field(default="", kw_only=True)
    gpu_readings: str = field(default="", kw_only=True)  # "" (CPU) | device | board
    threads: int
    precision: str  # fp32 | tf32 | bf16 | fp16: what the trial ran ([sweep] precisions)
    autotune: str = field(default="default", kw_only=True)  # default | off | on
    batch_size: int
    # `single` or `data` (data-parallel over `world_size` replicas; batch_size is per replica).
    parallel: str = field(default="single", kw_only=True)
    world_size: int = field(default=1, kw_only=True)
    repeat: int
    epochs: int
    steps_per_epoch: int
    samples_per_epoch: int
    params_trainable: int | None = None
    params_non_trainable: int | None = None
    flops_per_sample: int | None = None
    status: str = "skipped"
    exit_code: int | None = None
    error: str = ""
    framework_version: str = ""
    setup_s: float | None = None
    first_step_s: float | None = None
    first_epoch_s: float | None = None
    steady_epoch_s: float | None = None
    first_epoch_overhead_s: float | None = None
    samples_per_s: float | None = None
    # Per-step figures (STEP_COLUMNS): steady steps' median, p90, p99 and stdev; epoch 1's
    # excess over the steady median summed until the step time settles, and that step count.
    step_p50_s: float | None = None
    step_p90_s: float | None = None
    step_p99_s: float | None = None
    step_stdev_s: float | None = None
    step_overhead_s: float | None = None
    settle_steps: int | None = None
    straggler_wait_s: float | None = None  # data-parallel: median of epochs 2..E longest wait
    peak_rss_bytes: int | None = None
    peak_device_bytes: int | None = None
    compile_time_s: float | None = None
    graph_count: int | None = None
    graph_breaks: int | None = None
    compiled_frames: int | None = None
    achieved_flops_per_s: float | None = None
    peak_flops_per_s_calibrated: float | None = None
    mfu_calibrated: float | None = None
    peak_calibrated_by: str = ""  # the framework whose calibration gave the device's peak
    mfu_calibrated_own: float | None = None  # against the trial's own framework's calibration
    peak_flops_per_s_spec: float | None = None
    mfu_spec: float | None = None
    peak_spec_note: str = ""  # why the spec-sheet peak is empty, or which one stood in
    # Noise (NOISE_TRIAL_COLUMNS): the parent's snapshots around the trial and its samples.
    load_avg_1m_before: float | None = None
    cpu_governor: str = ""
    cpu_freq_min_mhz: float | None = None
    cpu_freq_max_mhz: float | None = None
    cpu_steal_pct: float | None = None
    other_cpu_pct: float | None = None
    cpu_throttle_count: int | None = None
    gpu_throttle_reasons: int | None = None
    node: str = ""  # the host name of the machine (cluster node) the trial ran on


@dataclass(slots=True)
class PhaseRow:
    """phases.csv: one row per phase of a trial's start-up and first epoch."""

    run_id: str
    trial_id: str
    phase: str
    start_s: float
    duration_s: float


@dataclass(slots=True)
class EpochRow:
    """epochs.csv: one row per training epoch."""

    run_id: str
    trial_id: str
    epoch: int
    wall_s: float
    steps: int
    samples: int
    loss: float | None = None
    accuracy: float | None = None
    val_loss: float | None = None
    val_accuracy: float | None = None
    val_s: float | None = None
    peak_rss_bytes: int | None = None
    peak_device_bytes: int | None = None
    device_mem_source: str = ""
    energy_j: float | None = None
    energy_cpu_j: float | None = None
    energy_gpu_j: float | None = None
    energy_source: str = ""


@dataclass(slots=True)
class StepRow:
    """steps.csv: one row per optimizer step (1-based within its epoch): its wall time — host
    time between step ends, or the device's own (CUDA events) on a GPU; `[monitor] steps`."""

    run_id: str
    trial_id: str
    epoch: int
    step: int
    wall_s: float


@dataclass(slots=True)
class RankRow:
    """ranks.csv: one row per rank and epoch of a data-parallel trial (rank 0's clock is the
    trial's: its epochs.csv rows are global)."""

    run_id: str
    trial_id: str
    rank: int
    epoch: int
    wall_s: float  # barrier → start … barrier after the local end, on this rank's clock
    samples: int  # samples this rank trained (epochs.csv holds the global count)
    local_s: float | None = None  # start → this rank's own end (its device synchronized)
    barrier_wait_s: float | None = None  # its wait at the end-of-epoch barrier (straggler time)
    peak_rss_bytes: int | None = None
    peak_device_bytes: int | None = None
    device_mem_source: str = ""
    energy_gpu_j: float | None = None  # this rank's own GPU (CPU energy is machine-level)


@dataclass(slots=True)
class MemoryRow:
    """memory.csv: one row per epoch and memory source (host RSS, each device counter)."""

    run_id: str
    trial_id: str
    epoch: int
    source: str
    peak_bytes: int | None


@dataclass(slots=True)
class SettingRow:
    """settings.csv: the values in effect in a trial's process (threads, precision flags...)."""

    run_id: str
    trial_id: str
    key: str
    value: str


@dataclass(slots=True)
class SampleRow:
    """samples.csv: the background sampler's resource time series (one row per tick)."""

    run_id: str
    trial_id: str
    t_s: float
    rss_bytes: int | None = None
    cpu_percent: float | None = None
    gpu_util_pct: float | None = None
    gpu_memory_used_bytes: int | None = None
    gpu_process_memory_bytes: int | None = None
    gpu_power_w: float | None = None
    gpu_sm_clock_mhz: int | None = None
    gpu_temperature_c: float | None = None
    gpu_throttle_reasons: int | None = None
    load_avg_1m: float | None = None
    cpu_steal_pct: float | None = None
    other_cpu_pct: float | None = None
    cpu_freq_mhz: float | None = None


TABLES: dict[str, type] = {
    "trials.csv": TrialRow,
    "phases.csv": PhaseRow,
    "epochs.csv": EpochRow,
    "memory.csv": MemoryRow,
    "settings.csv": SettingRow,
    "samples.csv": SampleRow,
    "ranks.csv": RankRow,
    "steps.csv": StepRow,
}


def columns(row_type: type) -> list[str]:
    """The CSV header of a table, in order."""
    return [f.name for f in dataclasses.fields(row_type)]


def columns_in_version(row_type: type, version: int) -> list[str]:
    """The CSV header a table had in schema `version`: today's, less the columns added since
    (none at all for a table added since)."""
    name = next(n for n, t in TABLES.items() if t is row_type)
    if version < TABLE_ADDED_IN_VERSION.get(name, 0):
        return []
    later = {c for v, added in ADDED_IN_VERSION.items() if v > version for c in added.get(name, ())}
    return [c for c in columns(row_type) if c not in later]
