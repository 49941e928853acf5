"""Device discovery and selection: the CPU, one `cuda:N` per GPU the user lets us use, and —
where NVML sees no board — the AMD (ROCm) GPUs and Apple `mps` that a torch probe child finds.

Discovery never imports a framework (DESIGN.md, principle 1): the CPU is described from
`/proc/cpuinfo` and psutil, GPUs from NVML through `bench.hardware.nvml.Nvml`.

GPUs: NVML lists every board on the machine, whatever `CUDA_VISIBLE_DEVICES` says, so discovery
applies the parent's `CUDA_VISIBLE_DEVICES` itself, as CUDA would (`bench.hardware.visible`):
`CUDA_VISIBLE_DEVICES=2,3 python -m bench run` (or a scheduler's `GPU-<uuid>` / `MIG-<uuid>`
list) uses only those GPUs. A board in MIG mode offers its MIG slices, each its own device.
`cuda:N` is the device's position among the visible ones — what CUDA in the parent would call
it. Each device keeps its UUID, which is what a trial's child gets in its
`CUDA_VISIBLE_DEVICES` (NVML and CUDA index orders need not agree; a UUID names one device
either way); only where NVML gives no UUID does the child get the NVML index, with
`CUDA_DEVICE_ORDER=PCI_BUS_ID` so that CUDA counts in NVML's order.
"""

from __future__ import annotations

import enum
import os
import platform
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import psutil

from bench.contract.trial import is_mig_uuid
from bench.hardware.nvml import Nvml
from bench.hardware.visible import VisibleGpu, visible_gpus

_GIB = 1024**3


@dataclass(frozen=True, slots=True)
class Device:
    """One place a trial can run."""

    name: str  # "cpu", "cuda:N" (N its position among the visible GPUs) or "mps"
    kind: Literal["cpu", "cuda", "mps"]
    label: str  # CPU model, GPU name, or MIG device name (with its profile)
    index: int | None  # NVML index of the GPU's board (PCI bus order; ROCm: HIP's), None for CPU
    memory_bytes: int  # system RAM for the CPU, total device memory for a GPU or MIG slice
    detail: str  # e.g. "4 cores / 8 threads" or "driver 550.54, CUDA 12.4"
    uuid: str | None = None  # "GPU-…" or "MIG-…" from NVML; None for the CPU or without one
    compute_capability: tuple[int, int] | None = None  # a CUDA GPU's (major, minor), from NVML

    @property
    def mig(self) -> bool:
        """True for a MIG slice: its board-level readings are shared with other slices."""
        return is_mig_uuid(self.uuid)

    @property
    def cuda_visible_id(self) -> str:
        """What a child's `CUDA_VISIBLE_DEVICES` holds for this device: its UUID, else its NVML
        index; "" for the CPU."""
        if self.kind == "cpu":
            return ""
        return self.uuid or str(self.index)


def mig_ranks_skip(ranks: list[Device]) -> str:
    """Why ranks on these GPUs cannot form a data-parallel world ("" when they can): one is a
    MIG slice (`Device.mig`). A CUDA process enumerates one MIG device only, whatever
    `CUDA_VISIBLE_DEVICES` lists (so MirroredStrategy and JAX's DataParallel see one device),
    and NCCL, which torch DDP's ranks reduce through, does not support MIG."""
    slices = [g for g in ranks if g.mig]
    if not slices:
        return ""
    named = ", ".join(f"{g.name} ({g.label}, {g.uuid})" for g in slices)
    return (
        f"data-parallel ranks cannot use a MIG slice: {named}; a CUDA process sees one MIG "
        "device only, MIG slices have no CUDA IPC or peer-to-peer between them, and NCCL does "
        "not support MIG: use whole GPUs (MIG mode off)"
    )


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


def gpu_device(position: int, gpu: VisibleGpu) -> Device:
    """`cuda:<position>` for a visible GPU or MIG slice."""
    board, piece = gpu.board, gpu.mig
    parts = []
    if piece is not None:
        instance = (
            f", GPU instance {piece.gpu_instance_id}" if piece.gpu_instance_id is not None else ""
        )
        parts.append(f"MIG slice {piece.mig_index} of GPU {board.index}{instance}")
    if board.driver_version:
        parts.append(f"driver {board.driver_version}")
    if board.cuda_driver_version:
        parts.append(f"CUDA {board.cuda_driver_version}")
    return Device(
        name=f"cuda:{position}",
        kind="cuda",
        label=piece.name if piece is not None else board.name,
        index=board.index,
        memory_bytes=piece.memory_total_bytes if piece is not None else board.memory_total_bytes,
        detail=", ".join(parts),
        uuid=gpu.uuid,
        compute_capability=board.compute_capability,
    )


def discover(
    nvml: Nvml | None | _Default = LOAD_NVML, environ: Mapping[str, str] | None = None
) -> list[Device]:
    """The CPU first, then one `cuda:N` per GPU (or MIG slice) that `CUDA_VISIBLE_DEVICES` in
    `environ` (default: this process's environment) makes visible; no GPUs if `nvml` is None.

    By default NVML is loaded for this call and shut down again; pass an `Nvml` to reuse one
    (the caller keeps ownership) or `None` to skip GPUs.
    """
    owned = nvml is LOAD_NVML
    lib = Nvml.load() if isinstance(nvml, _Default) else nvml
    try:
        boards = lib.gpus() if lib is not None else []
    finally:
        if owned and lib is not None:
            lib.shutdown()
    if not boards and owned:
        return [cpu_device(), *_other_gpus()]
    value = (os.environ if environ is None else environ).get("CUDA_VISIBLE_DEVICES")
    gpus = visible_gpus(boards, value)
    return [cpu_device(), *(gpu_device(n, g) for n, g in enumerate(gpus))]


def _other_gpus() -> list[Device]:
    """ROCm and MPS devices, from a torch probe child, where the machine may hold them."""
    from bench.hardware.probe import may_hold_other_gpus, run_probe

    if not may_hold_other_gpus():
        return []
    facts = run_probe("torch", "torch")
    return [] if facts.get("error") else probed_devices(facts)


def _choices(available: list[Device]) -> str:
    return ", ".join(["auto", *(d.name for d in available)])


def _absent(raw: str, available: list[Device], why_no_gpu: Callable[[], list[str]]) -> str:
    """Why device `raw` cannot be chosen; on a machine with no GPU, a GPU name gets each reason
    there is none, with its fix (`bench.hardware.nogpu`)."""
    shown, choices = raw.strip(), _choices(available)
    if shown.lower().startswith("cuda") and not any(d.kind == "cuda" for d in available):
        reasons = why_no_gpu() or ["no NVIDIA, ROCm or Apple GPU found — see bench doctor"]
        told = "; ".join(f"({n}) {r}" for n, r in enumerate(reasons, 1))
        return (
            f'device "{shown}" is not available, there is no GPU here: {told}; '
            f"choose from: {choices}"
        )
    return f'device "{shown}" is not available; choose from: {choices}'


def _why_no_gpu() -> list[str]:
    from bench.hardware.nogpu import reasons_here

    return reasons_here()


def resolve(
    requested: list[str],
    available: list[Device],
    why_no_gpu: Callable[[], list[str]] = _why_no_gpu,
) -> list[Device]:
    """Turn device names from config or CLI into devices, in the order asked, without repeats.

    "auto" is every available device, "cuda" every GPU, "cpu" and "cuda:N" one device each.
    Raises `ValueError` with a one-line message for a name that is unknown or not present here
    (a GPU on a machine without one: each reason `why_no_gpu()` gives, with its fix), or for an
    empty request.
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
            raise ValueError(_absent(raw, available, why_no_gpu))
        for device in matched:
            chosen.setdefault(device.name, device)
    return list(chosen.values())


def format_table(devices: list[Device]) -> str:
    """Plain-text table for `python -m bench devices`: name, label, memory (GiB), UUID,
    detail."""
    header = ("name", "label", "memory", "uuid", "detail")
    rows = [header] + [
        (d.name, d.label, f"{d.memory_bytes / _GIB:.1f} GiB", d.uuid or "-", d.detail)
        for d in devices
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = []
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)


def hip_entry(position: int, environ: Mapping[str, str]) -> str | None:
    """What HIP called the GPU it counts as `position`: that entry of the user's
    `HIP_VISIBLE_DEVICES` (else `CUDA_VISIBLE_DEVICES`, which HIP also reads — torch's
    `_parse_visible_devices` on ROCm takes them in this order), an index or a UUID; None when
    neither is set (then the position is the index)."""
    value = environ.get("HIP_VISIBLE_DEVICES", environ.get("CUDA_VISIBLE_DEVICES"))
    if value is None:
        return None
    entries = [e.strip() for e in value.split(",") if e.strip()]
    return entries[position] if position < len(entries) else None


def _rocm_gpu(gpu: dict, hip: str, environ: Mapping[str, str]) -> Device:
    """A ROCm GPU the probe counted as cuda:N, named for a child by what the user's own list
    called it: an index stays an index, a UUID becomes the device's UUID."""
    entry = hip_entry(gpu["index"], environ)
    index, uuid = gpu["index"], None
    if entry is not None and entry.isdigit():
        index = int(entry)
    elif entry is not None:
        uuid = entry
    return Device(
        name=f"cuda:{gpu['index']}",
        kind="cuda",
        label=gpu["name"],
        index=index,
        memory_bytes=gpu["memory_bytes"],
        detail=f"ROCm/HIP {hip} (through torch; no NVML)",
        uuid=uuid,
    )


def probed_devices(
    facts: dict, system_memory: int | None = None, environ: Mapping[str, str] | None = None
) -> list[Device]:
    """GPUs that NVML cannot see, from a torch probe (`bench.hardware.probe.torch_facts`, run
    with the user's GPU-visibility variables): AMD GPUs of a ROCm build (torch calls them
    `cuda:N`, N counted among the visible ones) and Apple's `mps`."""
    environ = os.environ if environ is None else environ
    found = []
    if facts.get("hip"):
        found += [_rocm_gpu(gpu, facts["hip"], environ) for gpu in facts.get("gpus", [])]
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
