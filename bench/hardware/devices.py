"""Device discovery and selection: the CPU, one `cuda:N` per GPU that NVML reports, and — where
NVML sees none — the AMD (ROCm) GPUs and Apple `mps` that a torch probe child finds.

Discovery never imports a framework (DESIGN.md, principle 1): the CPU is described from
`/proc/cpuinfo` and psutil, GPUs from NVML through `bench.hardware.nvml.Nvml`.

`cuda:N` uses the NVML index N. NVML numbers GPUs in PCI bus order, while CUDA by default puts
the fastest GPU first; the harness sets `CUDA_DEVICE_ORDER=PCI_BUS_ID` in every trial's child so
that CUDA's index N and NVML's index N name the same card.
"""

from __future__ import annotations

import enum
import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import psutil

from bench.hardware.nvml import GpuInfo, Nvml

_GIB = 1024**3


@dataclass(frozen=True, slots=True)
class Device:
    """One place a trial can run."""

    name: str  # "cpu", "cuda:N" or "mps"
    kind: Literal["cpu", "cuda", "mps"]
    label: str  # CPU model or GPU name
    index: int | None  # NVML / CUDA index for GPUs, None for the CPU
    memory_bytes: int  # system RAM for the CPU, total device memory for a GPU
    detail: str  # e.g. "4 cores / 8 threads" or "driver 550.54, CUDA 12.4"


class _Default(enum.Enum):
    LOAD = "load"


LOAD_NVML = _Default.LOAD
"""Default for `discover`: load NVML for the call and shut it down afterwards."""


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's model name from `cpuinfo` ("model name"), else `platform.processor()`."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() == "model name" and value.strip():
            return value.strip()
    return platform.processor() or platform.machine() or "unknown CPU"


def cpu_cores() -> tuple[int, int]:
    """(physical, logical) core counts; physical falls back to logical when psutil can't tell."""
    logical = psutil.cpu_count(logical=True) or os.cpu_count() or 1
    physical = psutil.cpu_count(logical=False) or logical
    return physical, logical


def default_threads() -> int:
    """Threads a CPU trial gets unless the sweep says otherwise: the physical core count."""
    physical, logical = cpu_cores()
    return physical or logical or 1


def cpu_device() -> Device:
    """The host CPU as a `Device`, with system RAM as its memory."""
    physical, logical = cpu_cores()
    return Device(
        name="cpu",
        kind="cpu",
        label=cpu_model(),
        index=None,
        memory_bytes=psutil.virtual_memory().total,
        detail=f"{physical} cores / {logical} threads",
    )


def gpu_device(gpu: GpuInfo) -> Device:
    """A `cuda:N` device for the NVML GPU with index N."""
    parts = []
    if gpu.driver_version:
        parts.append(f"driver {gpu.driver_version}")
    if gpu.cuda_driver_version:
        parts.append(f"CUDA {gpu.cuda_driver_version}")
    return Device(
        name=f"cuda:{gpu.index}",
        kind="cuda",
        label=gpu.name,
        index=gpu.index,
        memory_bytes=gpu.memory_total_bytes,
        detail=", ".join(parts),
    )


def discover(nvml: Nvml | None | _Default = LOAD_NVML) -> list[Device]:
    """The CPU first, then one `cuda:N` per GPU NVML reports (none if `nvml` is None).

    By default NVML is loaded for this call and shut down again; pass an `Nvml` to reuse one
    (the caller keeps ownership) or `None` to skip GPUs.
    """
    owned = nvml is LOAD_NVML
    lib = Nvml.load() if isinstance(nvml, _Default) else nvml
    try:
        gpus = lib.gpus() if lib is not None else []
    finally:
        if owned and lib is not None:
            lib.shutdown()
    if not gpus and owned:
        return [cpu_device(), *_other_gpus()]
    return [cpu_device(), *(gpu_device(g) for g in gpus)]


def _other_gpus() -> list[Device]:
    """ROCm and MPS devices, from a torch probe child, where the machine may hold them."""
    from bench.hardware.probe import may_hold_other_gpus, run_probe

    if not may_hold_other_gpus():
        return []
    facts = run_probe("torch", "torch")
    return [] if facts.get("error") else probed_devices(facts)


def _choices(available: list[Device]) -> str:
    return ", ".join(["auto", *(d.name for d in available)])


def resolve(requested: list[str], available: list[Device]) -> list[Device]:
    """Turn device names from config or CLI into devices, in the order asked, without repeats.

    "auto" is every available device, "cuda" every GPU, "cpu" and "cuda:N" one device each.
    Raises `ValueError` with a one-line message for a name that is unknown or not present here,
    or for an empty request.
    """
    by_name = {d.name: d for d in available}
    if not requested:
        raise ValueError(f"no device requested; choose from: {_choices(available)}")
    chosen: dict[str, Device] = {}
    for raw in requested:
        value = raw.strip().lower()
        if value == "auto":
            matched = list(available)
        elif value == "cuda":
            matched = [d for d in available if d.kind == "cuda"]
        else:
            matched = [by_name[value]] if value in by_name else []
        if not matched:
            shown = raw.strip()
            raise ValueError(
                f'device "{shown}" is not available; choose from: {_choices(available)}'
            )
        for device in matched:
            chosen.setdefault(device.name, device)
    return list(chosen.values())


def format_table(devices: list[Device]) -> str:
    """Plain-text table for `python -m bench devices`: name, label, memory (GiB), detail."""
    header = ("name", "label", "memory", "detail")
    rows = [header] + [
        (d.name, d.label, f"{d.memory_bytes / _GIB:.1f} GiB", d.detail) for d in devices
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = []
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)


def probed_devices(facts: dict, system_memory: int | None = None) -> list[Device]:
    """GPUs that NVML cannot see, from a torch probe (`bench.hardware.probe.torch_facts`): AMD
    GPUs of a ROCm build (torch calls them `cuda:N`) and Apple's `mps`."""
    found = []
    if facts.get("hip"):
        for gpu in facts.get("gpus", []):
            found.append(
                Device(
                    name=f"cuda:{gpu['index']}",
                    kind="cuda",
                    label=gpu["name"],
                    index=gpu["index"],
                    memory_bytes=gpu["memory_bytes"],
                    detail=f"ROCm/HIP {facts['hip']} (through torch; no NVML)",
                )
            )
    if facts.get("mps"):
        memory = system_memory if system_memory is not None else psutil.virtual_memory().total
        found.append(
            Device(
                name="mps",
                kind="mps",
                label=f"Apple MPS ({cpu_model()})",
                index=None,
                memory_bytes=memory,
                detail="unified memory, shared with the CPU",
            )
        )
    return found
