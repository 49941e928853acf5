"""The `[sweep] parallel` dimension at plan time: which world sizes a device gets, which GPUs
a data-parallel CUDA trial's ranks use, and which variants cannot run data-parallel (planned
with a `skip` reason, so the plan shows them).

`single` is today's one-device trial (world size 1). `data` is data-parallel training: N
replicas, each training `[train] samples` samples per epoch at `batch_size` (global batch =
batch size × N). On CUDA the ranks take the first N GPUs the sweep chose, one each, and the
trial is planned once, on the first of them (its `device` column); `world_sizes` defaults to
every chosen GPU. On the CPU the N ranks share the CPU, `threads` split between them
(`bench.launchers.ranks.rank_threads`); `world_sizes` defaults to 2.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bench.hardware.devices import mig_ranks_skip

if TYPE_CHECKING:
    from bench.core.config import Config
    from bench.hardware.devices import Device

CPU_DEFAULT_WORLD = 2
NOT_DATA_PARALLEL = {
    "numpy": "the numpy runner has no data-parallel mode (it trains in one process)",
    "keras.torch": "data-parallel Keras runs on the TensorFlow backend (MirroredStrategy) or JAX "
    "(keras.distribution.DataParallel), not on torch",
    "keras.loader": "data-parallel Keras feeds fit NumPy arrays (the memory pipeline), not the "
    "tf.data loader",
    "keras.xla.cpu": "TensorFlow's XLA cannot compile a MirroredStrategy step over logical CPU "
    "devices (a variable on another device: tensorflow.org/xla/known_issues); use graph",
}


def points(
    config: Config, device: Device, devices: list[Device]
) -> list[tuple[str, int, tuple[tuple[int, str], ...], str]]:
    """(parallel, world size, the ranks' GPUs, skip reason) for each way `device` is swept.

    A CUDA device other than the first chosen GPU gets no data-parallel point: the trial that
    uses it is planned on the first."""
    out: list[tuple[str, int, tuple[tuple[int, str], ...], str]] = []
    gpus = [d for d in devices if d.kind == "cuda"]
    for parallel in config.sweep.parallel:
        if parallel == "single":
            out.append(("single", 1, (), ""))
            continue
        if device.kind == "cuda" and device != gpus[0]:
            continue
        default = (len(gpus),) if device.kind == "cuda" else (CPU_DEFAULT_WORLD,)
        for world in config.sweep.world_sizes or default:
            out.append(("data", world, *_ranks(device, gpus, world)))
    return out


def _ranks(
    device: Device, gpus: list[Device], world: int
) -> tuple[tuple[tuple[int, str], ...], str]:
    """The ranks' (NVML index, UUID) pairs on CUDA (none on the CPU), and why not, if not."""
    if device.kind == "mps":
        return (), "data-parallel trials run on CUDA GPUs or the CPU, not on MPS"
    if device.kind == "cpu":
        return (), ""
    if world > len(gpus):
        return (), f"world size {world} needs {world} GPUs; the sweep chose {len(gpus)}"
    if world > 1 and (why := mig_ranks_skip(gpus[:world])):
        return (), why
    return tuple((g.index if g.index is not None else i, g.uuid or "") for i, g in
                 enumerate(gpus[:world])), ""  # fmt: skip


def cpu_world_skip(trial: dict[str, Any], cores: int | None) -> str:
    """Why a data-parallel CPU trial is not run ("" when it is, or is no such trial): more ranks
    than this machine's logical CPUs (`cores`; None for a Slurm job, whose node is not known
    here). Ranks past that time only contention, and a config from elsewhere must not start
    thousands of processes."""
    world = trial["world_size"]
    if trial["device_kind"] != "cpu" or trial["parallel"] != "data" or cores is None:
        return ""
    if world > cores:
        return f"world size {world} needs {world} CPU cores, one per rank; this machine has {cores}"
    return ""


def variant_skip(variant: dict[str, str], parallel: str) -> str:
    """Why a variant (framework, backend, mode, pipeline, device_kind) cannot run data-parallel
    ("" when it can, or the trial is single)."""
    if parallel != "data":
        return ""
    if variant["framework"] != "keras":
        return NOT_DATA_PARALLEL.get(variant["framework"], "")
    keys = [f"keras.{variant['backend']}", f"keras.{variant['pipeline']}"]
    if variant["backend"] == "tensorflow":
        keys.append(f"keras.{variant['mode']}.{variant['device_kind']}")
    return next((NOT_DATA_PARALLEL[k] for k in keys if k in NOT_DATA_PARALLEL), "")
