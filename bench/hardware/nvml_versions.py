"""NVML calls whose version depends on the driver and the binding: running compute processes.

From nvidia-ml-py's `pynvml.py`, read across its releases (10.418 … 13.615):

- bindings ≥ 12.550 wrap `nvmlDeviceGetComputeRunningProcesses_v3` and `_v2`; the unversioned
  name calls `_v3` through `throwOnVersionMismatch`, which turns `NVMLError_FunctionNotFound` (a
  driver without `_v3`, i.e. before R510) into `NVMLLibraryMismatchError` — an `Exception`, *not*
  an `NVMLError`;
- bindings 11.510 … 12.535 wrap `_v3` only (the unversioned name calls it, unwrapped);
- bindings 11.450.129 … 11.495 wrap `_v2` only; ≤ 11.450.51 wrap only the C function
  `nvmlDeviceGetComputeRunningProcesses`, the v1 API (struct: `pid`, `usedGpuMemory`).

So the Python wrappers alone cannot reach `_v2` or v1 from most bindings. `raw_processes` calls
the C function itself through the binding's `_nvmlGetFunctionPointer` (present in every release;
it raises `NVMLError_FunctionNotFound` for a symbol the driver lacks), exactly as the binding's
own wrappers do: a first call without a buffer returns NVML_SUCCESS (no processes) or
NVML_ERROR_INSUFFICIENT_SIZE with the count; a second fills an array of the version's struct
(`_v2`: `pid`, `usedGpuMemory`, `gpuInstanceId`, `computeInstanceId`; v1: the first two);
`usedGpuMemory` = NVML_VALUE_NOT_AVAILABLE (2⁶⁴ − 1, WDDM) becomes None, as in the binding.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any

NVML_SUCCESS = 0
NVML_ERROR_INSUFFICIENT_SIZE = 7
NVML_VALUE_NOT_AVAILABLE = 2**64 - 1


class ProcessInfoV1(ctypes.Structure):
    """`nvmlProcessInfo_v1_t`, filled by the unversioned C function."""

    _fields_ = [("pid", ctypes.c_uint), ("usedGpuMemory", ctypes.c_ulonglong)]


class ProcessInfoV2(ctypes.Structure):
    """`nvmlProcessInfo_v2_t`, filled by `_v2` (and `_v3`)."""

    _fields_ = [
        ("pid", ctypes.c_uint),
        ("usedGpuMemory", ctypes.c_ulonglong),
        ("gpuInstanceId", ctypes.c_uint),
        ("computeInstanceId", ctypes.c_uint),
    ]


@dataclass(frozen=True, slots=True)
class Process:
    """One compute process on a GPU, whichever NVML version reported it."""

    pid: int
    usedGpuMemory: int | None  # NVML's field name, as the binding spells it


# What `Nvml.process_memory_bytes` tries, newest first: (binding wrapper or C symbol, struct).
# A struct means "call the C symbol through _nvmlGetFunctionPointer"; None, the wrapper.
PROCESS_CALLS: tuple[tuple[str, type[ctypes.Structure] | None], ...] = (
    ("nvmlDeviceGetComputeRunningProcesses_v3", None),
    ("nvmlDeviceGetComputeRunningProcesses_v2", None),
    ("nvmlDeviceGetComputeRunningProcesses_v2", ProcessInfoV2),
    ("nvmlDeviceGetComputeRunningProcesses", ProcessInfoV1),
    ("nvmlDeviceGetComputeRunningProcesses", None),  # whatever the binding's own name calls
)


def raw_processes(
    lib: Any, handle: Any, symbol: str, struct: type[ctypes.Structure]
) -> list[Process] | None:
    """The compute processes on `handle` from the C function `symbol`, whose array holds
    `struct`s; None if the binding cannot reach C functions or the driver reports an error.
    NVML errors the binding raises (FunctionNotFound) propagate to the caller."""
    pointer = getattr(lib, "_nvmlGetFunctionPointer", None)
    if pointer is None:
        return None
    fn = pointer(symbol)
    count = ctypes.c_uint(0)
    ret = fn(handle, ctypes.byref(count), None)
    if ret == NVML_SUCCESS:
        return []
    if ret != NVML_ERROR_INSUFFICIENT_SIZE:
        return None
    count.value = count.value * 2 + 5  # room for processes started since the first call
    infos = (struct * count.value)()
    if fn(handle, ctypes.byref(count), infos) != NVML_SUCCESS:
        return None
    return [
        Process(
            int(p.pid), None if p.usedGpuMemory == NVML_VALUE_NOT_AVAILABLE else p.usedGpuMemory
        )
        for p in infos[: count.value]
    ]
