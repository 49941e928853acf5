"""Every bench.toml key, declared once: `[sweep]` and `[train]` here, the other sections in
`bench.core.settings_more`, and `SECTIONS`, the sections in file order.

A declaration is a `setting(default, kind, ...)` field (`bench.core.rules.Rule`): its type,
default, choices or pattern, bounds, one-line doc, `run` flag and, for a sweep dimension, the
trial column it fills and its label format. Config validation, `run --help`, `--set`, the trial
ids, the dry run, the run summary, the report's labels and docs/config.md all read these
declarations; a new setting is its declaration here, its effect and its test. Choices live once
(precisions and autotune modes in `bench.hardware.precision`, with what each one means) and are
referenced only from here.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.contract.recipe import IMPLEMENTATIONS, OPTIMIZERS, SCHEDULES
from bench.core.rules import setting
from bench.core.settings_more import Data, Fake, Launcher, Monitor, Output
from bench.hardware.precision import AUTOTUNES, PRECISIONS

FRAMEWORKS = ("torch", "keras", "numpy", "fake")
TORCH_MODES = ("eager", "compile")
KERAS_MODES = ("graph", "eager", "xla")
KERAS_BACKENDS = ("tensorflow", "jax", "torch")
CACHES = ("cold", "warm")
PARALLEL = ("single", "data")
DEVICES = r"auto|cpu|cuda|cuda:\d+|mps"
#: A Keras backend named as a framework: what to write instead (a flag or a bench.toml key).
FRAMEWORK_HINTS = {
    name: f"{label} is a Keras backend, not a framework: use --frameworks keras --keras-backends "
    f'{backend} (in bench.toml: frameworks = ["keras"] and keras_backends = ["{backend}"]).'
    for name, label, backend in (
        ("tensorflow", "TensorFlow", "tensorflow"),
        ("tf", "TensorFlow", "tensorflow"),
        ("jax", "JAX", "jax"),
    )
}


@dataclass(frozen=True, slots=True)
class Sweep:
    """What to sweep: every combination of these runs as its own trials (a fresh process each)."""

    frameworks: tuple[str, ...] = setting(
        ("torch", "keras"), "str_list", choices=FRAMEWORKS, flag="--frameworks",
        hints=FRAMEWORK_HINTS,
        doc="frameworks to time; `numpy` is the hand-written NumPy runner (CPU and `memory` "
        "pipeline only; models with a layer it lacks are skipped), `fake` a scripted runner with "
        "no framework, for testing the harness",
    )  # fmt: skip
    models: tuple[str, ...] = setting(
        ("seed_cnn", "seed_ffnn"), "str_list", allowed="names that `bench models` lists",
        flag="--models", doc="models to time, by name (your own from `[models]` too)",
    )  # fmt: skip
    devices: tuple[str, ...] = setting(
        ("auto",), "str_list", pattern=DEVICES, flag="--devices",
        allowed="auto, cpu, cuda (every GPU), cuda:N or mps (Apple)",
        doc="`auto`: the CPU and every visible GPU; `cuda`: every visible GPU; `cuda:N`: the N-th "
        "GPU (or MIG slice) `CUDA_VISIBLE_DEVICES` makes visible, as `bench devices` lists them; "
        "`mps`: Apple's GPU",
    )  # fmt: skip
    batch_sizes: tuple[int, ...] = setting(
        (64,), "int_list", minimum=1, maximum=2**20, flag="--batch-sizes",
        column="batch_size", label="b{}", doc="batch sizes (per replica in a data-parallel trial)",
    )  # fmt: skip
    input_sizes: tuple[int, ...] = setting(
        (), "int_list", minimum=1, maximum=4096, column="input_size", label="{}px",
        unset="the data's size; synthetic data and folders: each model's native size",
        doc="square input sizes to sweep (height = width); channels from the data (fixed-design "
        "models: 3); real images are resized to them",
    )  # fmt: skip
    torch_modes: tuple[str, ...] = setting(
        ("eager",), "str_list", choices=TORCH_MODES, flag="--torch-modes",
        doc="torch execution modes: `compile` wraps the model in `torch.compile`",
    )  # fmt: skip
    keras_modes: tuple[str, ...] = setting(
        ("graph",), "str_list", choices=KERAS_MODES, flag="--keras-modes",
        doc="Keras execution modes: `graph` tf.function without XLA; `eager` "
        "`run_eagerly=True`; `xla` `jit_compile=True`",
    )  # fmt: skip
    keras_backends: tuple[str, ...] = setting(
        ("tensorflow",), "str_list", choices=KERAS_BACKENDS, flag="--keras-backends",
        doc="set as `KERAS_BACKEND` in the trial; a backend that is not installed, or a mode it "
        "lacks (graph on jax/torch), is planned as `skipped` with the reason",
    )  # fmt: skip
    threads: tuple[int, ...] = setting(
        (), "int_list", minimum=1, maximum=1024, flag="--threads", column="threads",
        label="t{}", unset="the physical core count",
        doc="CPU threads per trial, applied identically in every framework (NumPy: its BLAS "
        "pool); swept for CPU trials, GPU trials use the largest",
    )  # fmt: skip
    precisions: tuple[str, ...] = setting(
        ("fp32",), "str_list", choices=PRECISIONS, flag="--precisions", column="precision",
        label="{}", quiet=True,
        doc="`fp32` strict (TF32 off everywhere); `tf32` TF32 Tensor Cores allowed; `bf16`, "
        "`fp16` automatic mixed precision (loss scaling for fp16); where a device cannot run one "
        "the trial is planned as `skipped` with the reason (docs/precision.md)",
    )  # fmt: skip
    autotune: tuple[str, ...] = setting(
        ("default",), "str_list", choices=AUTOTUNES, flag="--autotune", column="autotune",
        label="autotune={}", quiet=True,
        doc="GPU kernel autotuning: `default` leaves each framework as it ships; `off`/`on` set "
        "torch's `cudnn.benchmark`, `TF_CUDNN_USE_AUTOTUNE` and `--xla_gpu_autotune_level` alike; "
        "on a CPU only `default` runs",
    )  # fmt: skip
    caches: tuple[str, ...] = setting(
        ("cold",), "str_list", choices=CACHES, flag="--caches", column="cache", label="{}",
        quiet=True,
        doc="`cold`: fresh, empty compiler caches per trial; `warm`: persistent caches in "
        "`<output dir>/.cache/<framework>.<backend>.<mode>.<model>-<hash>/`, keyed by everything "
        "that changes the compiled code, filled by an untimed run before the first warm trial of "
        "a key (recorded in run.json `cache_fills`)",
    )  # fmt: skip
    parallel: tuple[str, ...] = setting(
        ("single",), "str_list", choices=PARALLEL, flag="--parallel", column="parallel",
        label={"data": "dp{world_size}"}, quiet=True,
        doc="`single`: one device per trial; `data`: data-parallel training over `world_sizes` "
        "replicas, each training `[train] samples` per epoch (global batch = batch size × world "
        "size)",
    )  # fmt: skip
    world_sizes: tuple[int, ...] = setting(
        (), "int_list", minimum=1, maximum=1024, flag="--world-sizes", column="world_size",
        unset="CUDA: every chosen GPU (Slurm: `gpus_per_node`); CPU: 2",
        doc="replicas of a `data` trial: on CUDA the first N chosen GPUs, one per rank (more than "
        "chosen: `skipped`); on the CPU N processes (torch) or N logical devices (Keras)",
    )  # fmt: skip
    repeats: int = setting(
        4, "int", minimum=1, maximum=1000, flag="--repeats", column="repeat", label="r{}",
        doc="every configuration runs this many times; repeats are interleaved (all "
        "configurations once, then again)",
    )  # fmt: skip
    warmup: int = setting(
        1, "int", minimum=0, maximum=100,
        doc="untimed warm-up trials per (framework, backend, device) before the sweep, so the OS "
        "file cache holds the framework and the data; recorded in run.json (`warmup`), never in "
        "the tables; `0` measures the cold first repeat",
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Train:
    """How each trial trains."""

    epochs: int = setting(
        6, "int", minimum=2, maximum=100_000, flag="--epochs",
        doc="epoch 1 is the first epoch; epochs 2..E give the steady state",
    )  # fmt: skip
    samples: int = setting(
        3200, "int", minimum=1, maximum=100_000_000, flag="--samples",
        doc="samples per epoch, at least the largest batch size; steps = samples // batch size, "
        "the remainder dropped",
    )  # fmt: skip
    optimizer: str = setting(
        "adam", "str", choices=OPTIMIZERS,
        doc="the same optimizer and maths in every framework (torch's; Adam β = (0.9, 0.999), "
        "ε = 1e-7 in all); `adam` is the seed notebooks' recipe, `adamw` decays the weights "
        "decoupled (p·(1 − lr·wd)), `sgd` takes `momentum` (docs/method.md#optimizer-recipes)",
    )  # fmt: skip
    learning_rate: float = setting(
        0.001, "float", minimum=0.0, maximum=10.0,
        doc="the base step size (the schedule multiplies it)",
    )  # fmt: skip
    momentum: float = setting(
        0.0, "float", minimum=0.0, maximum=1.0, below=True,
        doc="`sgd` only: torch's momentum, buf = μ·buf + g, p −= lr·buf (0: plain SGD)",
    )  # fmt: skip
    weight_decay: float = setting(
        0.0, "float", minimum=0.0, maximum=10.0,
        doc="`adamw`: decoupled decay; `adam`, `sgd`: torch's L2 term wd·p added to the "
        "gradient (Keras decays decoupled only, so Keras trials of those two with momentum or "
        "Adam are skipped, saying why)",
    )  # fmt: skip
    implementation: str = setting(
        "default", "str", choices=IMPLEMENTATIONS,
        doc="torch's optimizer kernels: `default` as torch picks (foreach on CUDA, for-loop on "
        "the CPU), `foreach`, `fused` (the HF Trainer's AdamW), `for-loop`; Keras and NumPy "
        "have no choice (their other values are skipped); settings.csv records what ran",
    )  # fmt: skip
    clip_grad_norm: float = setting(
        0.0, "float", minimum=0.0, maximum=1e6,
        doc="clip the gradients' global L2 norm to this before each step "
        "(`torch.nn.utils.clip_grad_norm_`, Keras `global_clipnorm`); 0: off",
    )  # fmt: skip
    lr_schedule: str = setting(
        "constant", "str", choices=SCHEDULES,
        doc="per step, after `warmup_steps`: `constant`; `linear` decay to 0 at the end of "
        "training; `cosine` decay to 0 (the HF Trainer's curves)",
    )  # fmt: skip
    warmup_steps: int = setting(
        0, "int", minimum=0, maximum=100_000_000,
        doc="linear warm-up: step k (from 0) of the first W runs at lr·(k + 1)/W; a decay "
        "needs steps left after it (else the trial is skipped)",
    )  # fmt: skip
    timeout_s: float = setting(
        1800.0, "float", minimum=1.0, maximum=604_800.0,
        doc="a trial still running after this many seconds is stopped and recorded as `timeout`",
    )  # fmt: skip


#: The sections of bench.toml, in the order a file and the docs list them.
SECTIONS: dict[str, type] = {
    "sweep": Sweep,
    "train": Train,
    "data": Data,
    "output": Output,
    "monitor": Monitor,
    "fake": Fake,
    "launcher": Launcher,
}
