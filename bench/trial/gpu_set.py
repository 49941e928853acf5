"""The GPUs one trial process drives (`gpu_list`), and one sampler row's GPU readings for a
process that drives several (a Keras data-parallel trial, whose one process sees all N of its
GPUs), in the shape of one GPU's (`several_gpus`).

samples.csv has one set of GPU columns per row, so N GPUs' readings are combined, each column
the way the trial-level figures are:

- `memory_used_bytes`, `process_memory_bytes`: the largest over the GPUs — a per-GPU figure,
  like `peak_device_bytes` (the largest per-GPU peak, as a torch data-parallel trial records
  its ranks' largest), so a replica's footprint reads the same in both frameworks;
- `power_w`: the sum over the distinct boards (each board once, as energy is counted:
  `Nvml.one_per_board`), the GPUs' power together;
- `utilization_gpu_pct`: the mean over the boards; `sm_clock_mhz`: the lowest (the slowest
  board); `temperature_c`: the highest; `throttle_reasons`: every board's reasons (bitwise OR).

A column is empty when any GPU's reading of it is: a figure over some of the GPUs would pass for
all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import reduce
from operator import or_
from typing import Any

from bench.hardware.nvml import GpuKey, Nvml

Reading = dict[str, Any]
GpuKeys = GpuKey | list[GpuKey] | tuple[GpuKey, ...]  # one GPU, or the several of one process


def gpu_list(gpus: GpuKeys | None) -> list[GpuKey]:
    """One GPU key or several (a one-process data-parallel trial's) as a list; [] for None."""
    if gpus is None:
        return []
    return list(gpus) if isinstance(gpus, (list, tuple)) else [gpus]


def _over(values: list[Any], combine: Callable[[list[Any]], Any]) -> Any:
    return None if not values or any(v is None for v in values) else combine(values)


def _mean(values: list[Any]) -> float:
    return round(sum(values) / len(values), 3)


def _bits(values: list[Any]) -> int:
    return reduce(or_, (int(v) for v in values))


def one_gpu(nvml: Nvml, gpu: GpuKey, pid: int) -> Reading:
    """`Nvml.sample(gpu)` with the process's own memory on it (`process_memory_bytes`)."""
    return nvml.sample(gpu) | {"process_memory_bytes": nvml.process_memory_bytes(gpu, pid)}


def several_gpus(nvml: Nvml, gpus: list[GpuKey], boards: list[GpuKey], pid: int) -> Reading:
    """The readings of `gpus` combined as the module says; `boards` is `one_per_board(gpus)`."""
    if len(gpus) == 1:
        return one_gpu(nvml, gpus[0], pid)
    devices = {gpu: one_gpu(nvml, gpu, pid) for gpu in gpus}
    per_board = [devices[b] for b in boards]

    def of(readings: list[Reading], field: str) -> list[Any]:
        return [r[field] for r in readings]

    every = list(devices.values())
    return {
        "utilization_gpu_pct": _over(of(per_board, "utilization_gpu_pct"), _mean),
        "memory_used_bytes": _over(of(every, "memory_used_bytes"), max),
        "process_memory_bytes": _over(of(every, "process_memory_bytes"), max),
        "power_w": _over(of(per_board, "power_w"), sum),
        "sm_clock_mhz": _over(of(per_board, "sm_clock_mhz"), min),
        "temperature_c": _over(of(per_board, "temperature_c"), max),
        "throttle_reasons": _over(of(per_board, "throttle_reasons"), _bits),
    }
