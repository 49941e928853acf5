"""The declarations of bench.toml's `[data]`, `[output]`, `[monitor]`, `[fake]` and `[launcher]`
keys (`[sweep]` and `[train]`, and the list of sections, are in `bench.core.settings`).

Each field is a `setting(...)`: type, default, bounds, choices, one-line doc, `run` flag (see
`bench.core.rules.Rule`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.contract.names import NAME, NAME_WORDS
from bench.core.rules import setting

PIPELINES = ("memory", "loader")
FAKE_FAILURES = ("none", "raise", "exit", "kill", "hang", "oom")
LAUNCHERS = ("local", "slurm", "submitit-local")
DATASETS = "synthetic, mnist5k, mnist:PATH, cifar10:PATH or folder:PATH"
DAY_S = 86_400.0
#: a folder: anything but control characters (a newline would break a job script's lines)
PATH = r"[^\x00-\x1f\x7f]+"
PATH_WORDS = "a path without control characters (newline, tab, …)"


@dataclass(frozen=True, slots=True)
class Data:
    """Where the images come from and how they reach the training loop (docs/data.md)."""

    dataset: str = setting(
        "synthetic", "str", allowed=DATASETS, flag="--dataset",
        doc="where the images come from; PATH is relative to the current folder or absolute and "
        "is stored absolute; a missing folder or unknown name is an error",
    )  # fmt: skip
    seed: int = setting(
        0, "int", minimum=0, maximum=2**32 - 1,
        doc="seed of the data (and its train/validation split) and of the frameworks' RNGs",
    )  # fmt: skip
    pipeline: tuple[str, ...] = setting(
        ("memory",), "str_list", choices=PIPELINES, flag="--pipelines", column="pipeline",
        label="{}", quiet=True,
        doc="input pipelines to sweep: `memory` = the data set in host memory, each batch copied "
        "to the device per step; `loader` = torch `DataLoader`, Keras `tf.data` with prefetch",
    )  # fmt: skip
    workers: int = setting(
        2, "int", minimum=0, maximum=128,
        doc="torch `DataLoader` worker processes of the `loader` pipeline (0: load in the "
        "training process); tf.data sizes its own thread pool",
    )  # fmt: skip
    augment: bool = setting(
        False, "bool",
        doc="random horizontal flip and rotation (±36°) in the `loader` pipeline, both "
        "frameworks; needs `loader` in `pipeline`; `memory` trials are never augmented",
    )  # fmt: skip
    val_fraction: float = setting(
        0.1, "float", minimum=0.0, maximum=1.0, below=True,
        doc="seeded hold-out of real data for validation (at least one image; 0: none)",
    )  # fmt: skip
    evaluate: bool = setting(
        True, "bool",
        doc="on real data, measure training accuracy and evaluate the hold-out after each epoch, "
        "outside the epoch's time; synthetic data (random labels) is never evaluated",
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Output:
    """Where run folders go."""

    dir: str = setting(
        "results", "str", pattern=PATH, allowed=PATH_WORDS, flag="--out",
        doc="run folders are created inside it",
    )  # fmt: skip
    name: str = setting(
        "", "str", pattern=f"(?:{NAME})?", allowed=f"empty, or {NAME_WORDS}", flag="--name",
        doc="appended to the run id (`20261122-101500-laptop`), so it becomes part of the run "
        "folder's name",
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Monitor:
    """What each trial records beside its epochs: the background resource sampler
    (samples.csv) and every step's wall time (steps.csv)."""

    enabled: bool = setting(True, "bool", doc="run the sampler")
    interval_s: float = setting(
        0.2, "float", minimum=0.01, maximum=3600.0, doc="sampling interval in seconds"
    )
    steps: bool = setting(
        True, "bool",
        doc="record every step's wall time (steps.csv: a time read per step, CUDA events on a "
        "GPU, never a sync); its cost is below the harness's resolution (docs/benchmarks.md)",
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Fake:
    """The scripted `fake` runner's script: no framework, for testing the harness."""

    phase_s: float = setting(
        0.1, "float", minimum=0.0, maximum=DAY_S,
        doc="duration of each start-up phase (spawn … compile)",
    )  # fmt: skip
    first_step_s: float = setting(
        0.5, "float", minimum=0.0, maximum=DAY_S, doc="duration of the first step"
    )
    epoch_s: tuple[float, ...] = setting(
        (2.0, 1.0), "float_list", minimum=0.0, maximum=DAY_S,
        doc="epoch wall times; the last value repeats",
    )  # fmt: skip
    sleep: bool = setting(
        False, "bool", doc="really sleep (default: virtual time, exact and instant)"
    )
    fail: str = setting(
        "none", "str", choices=FAKE_FAILURES,
        doc="fail for real at the start of epoch `fail_epoch`",
    )  # fmt: skip
    fail_epoch: int = setting(1, "int", minimum=1, maximum=100_000, doc="which epoch fails")
    fail_rank: int = setting(
        -1, "int", minimum=-1, maximum=1023,
        doc="data-parallel trials: only this rank fails (`-1`: every rank), for testing the rank "
        "supervisor",
    )  # fmt: skip
    slow_models: tuple[str, ...] = setting(
        (), "str_list", doc="these models' trials run `slowdown` × as long (a regression to find)"
    )
    slowdown: float = setting(
        1.0, "float", minimum=0.0, maximum=1000.0,
        doc="the factor for `slow_models`: every scripted duration of their trials",
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Launcher:
    """How trial processes start: here (`local`), as Slurm jobs through submitit (`slurm`), or
    as submitit's local jobs (`submitit-local`). The other keys are Slurm's (0 = not asked)."""

    kind: str = setting(
        "local", "str", choices=LAUNCHERS, flag="--launcher",
        doc="`local`: a fresh child per trial here; `slurm`: one Slurm job per trial through "
        "submitit; `submitit-local`: submitit's local executor, one job after another "
        "(docs/cluster.md)",
    )  # fmt: skip
    partitions: tuple[str, ...] = setting(
        (), "str_list", pattern=NAME, allowed=NAME_WORDS, flag="--partitions",
        unset="the cluster's default partition",
        doc="each partition gets the whole sweep as its own run, all under one `sweep_id`",
    )  # fmt: skip
    gpus_per_node: int = setting(
        0, "int", minimum=0, maximum=64,
        doc="GPUs each job asks for; a GPU trial uses `cuda:0` of its allocation",
    )  # fmt: skip
    cpus_per_task: int = setting(
        0, "int", minimum=0, maximum=4096,
        doc="CPUs each job asks for (0: Slurm's default); also the default CPU thread count of "
        "Slurm trials",
    )  # fmt: skip
    mem_gb: float = setting(
        0.0, "float", minimum=0.0, maximum=65_536.0,
        doc="memory each job asks for, in GB (0: Slurm's default)",
    )  # fmt: skip
    time_min: int = setting(
        60, "int", minimum=1, maximum=525_600,
        doc="each job's time limit in minutes (also submitit-local's): at least 4, since Slurm "
        "signals a job 90 s before its limit (up to 60 s earlier); a trial still running then "
        "ends as `timeout`, a signal before then is a preemption (docs/cluster.md)",
    )  # fmt: skip
    exclusive: bool = setting(
        True, "bool",
        doc="`#SBATCH --exclusive`: no other job shares a node while a trial is timed",
    )  # fmt: skip
    array_parallelism: int = setting(
        64, "int", minimum=1, maximum=100_000,
        doc="at most this many jobs of a partition's array run at once",
    )  # fmt: skip
    additional: tuple[tuple[str, Any], ...] = setting(
        (), "table",
        doc='more `#SBATCH --key=value` lines, e.g. `{ account = "lab", qos = "high" }`: only '
        "sbatch options the harness does not set itself (an unknown or managed key is an error "
        "that lists the allowed ones); values are shell-quoted, a newline is refused; `true` "
        "gives a bare `--key`",
    )  # fmt: skip
    poll_s: float = setting(
        30.0, "float", minimum=1.0, maximum=3600.0,
        doc="how often the waiting `bench run` (and `--resume`) asks Slurm about its jobs: one "
        "`squeue` for all of them, `sacct` for those it no longer lists",
    )  # fmt: skip
    lost_after_s: float = setting(
        60.0, "float", minimum=0.0, maximum=DAY_S,
        doc="a job Slurm reports ended (or no longer knows) whose result file has not appeared "
        "this long after ends its trial as `failed` with the reason (time for a shared file "
        "system to show a file written on a node)",
    )  # fmt: skip
    folder: str = setting(
        "", "str", pattern=f"(?:{PATH})?", allowed=PATH_WORDS, unset="`<[output] dir>/submitit`",
        doc="submitit's job files and logs; for `slurm` it and `[output] dir` must be on a file "
        "system every node of the partitions sees: never tmpfs or ramfs, and a local disk "
        "(ext4, xfs, …) only where this machine is the partitions' one node",
    )  # fmt: skip
