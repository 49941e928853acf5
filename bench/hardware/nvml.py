"""The narrow seam around NVML: GPU inventory and per-trial GPU readings, without a framework.

`Nvml` wraps a *library object* — in production the `pynvml` module from the `nvidia-ml-py`
package, in tests a fake with the same function names — so every GPU code path can be exercised
on a machine with no driver. Only `Nvml.load()` imports `pynvml`, and only when called.

Semantics taken from nvidia-ml-py's `pynvml.py` (13.x):

- strings: `nvmlDeviceGetName`, `nvmlDeviceGetUUID` and `nvmlSystemGetDriverVersion` return `str`
  in current releases (decorated with `convertStrBytes`) but `bytes` in old ones; both are
  accepted. PCI info is a ctypes struct whose `busId` field is likewise `str` or `bytes`.
- `nvmlSystemGetCudaDriverVersion` returns an int, 1000 * major + 10 * minor (12040 → "12.4").
- `nvmlDeviceGetPowerUsage` is milliwatts (on Ampere and newer, except GA100, a 1 s average);
  `nvmlDeviceGetTotalEnergyConsumption` is millijoules since the driver was loaded.
- `nvmlDeviceGetComputeRunningProcesses` lists objects with `pid` and `usedGpuMemory`; the latter is
  `None` where NVML cannot say (WDDM). PIDs are as the driver sees them: inside a container with
  its own PID namespace they may not match `os.getpid()`.
- Every failed call raises a subclass of `lib.NVMLError` (e.g. NotSupported, FunctionNotFound on an
  older driver); `nvmlDeviceGetComputeRunningProcesses` turns FunctionNotFound into
  `NVMLLibraryMismatchError`, which is *not* an `NVMLError`, so it is caught too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_CLOCK_SM = 1  # pynvml.NVML_CLOCK_SM
_TEMPERATURE_GPU = 0  # pynvml.NVML_TEMPERATURE_GPU
_SAMPLE_FIELDS = (
    "utilization_gpu_pct",
    "memory_used_bytes",
    "power_w",
    "sm_clock_mhz",
    "temperature_c",
    "throttle_reasons",
)


@dataclass(frozen=True, slots=True)
class GpuInfo:
    """One GPU as NVML reports it; `index` is the NVML index (PCI bus order)."""

    index: int
    name: str
    uuid: str | None
    memory_total_bytes: int
    driver_version: str | None
    cuda_driver_version: str | None
    pci_bus_id: str | None


def cuda_version_string(version: int) -> str:
    """Format NVML's CUDA driver version integer: 12040 → "12.4", 11080 → "11.8"."""
    return f"{version // 1000}.{(version % 1000) // 10}"


def _text(value: str | bytes) -> str:
    """NVML strings arrive as `str` (nvidia-ml-py ≥ 11.5) or `bytes` (older bindings)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


class Nvml:
    """A handle on an initialised NVML library object; every reading degrades to `None`."""

    def __init__(self, lib: Any) -> None:
        self._lib = lib
        errors: list[type[BaseException]] = [lib.NVMLError]
        mismatch = getattr(lib, "NVMLLibraryMismatchError", None)
        if isinstance(mismatch, type) and issubclass(mismatch, BaseException):
            errors.append(mismatch)
        self._errors: tuple[type[BaseException], ...] = tuple(errors)
        self._handles: dict[int, Any] = {}
        self._closed = False

    @classmethod
    def load(cls) -> Nvml | None:
        """Import `pynvml` and call `nvmlInit()`; `None` if either fails (no exception escapes)."""
        try:
            import pynvml
        except Exception:
            return None
        try:
            pynvml.nvmlInit()
        except Exception:
            return None
        return cls(pynvml)

    def _call(self, name: str, *args: Any) -> Any:
        """Call `lib.<name>(*args)`; `None` if the binding lacks it or NVML reports an error."""
        fn: Callable[..., Any] | None = getattr(self._lib, name, None)
        if fn is None:
            return None
        try:
            return fn(*args)
        except self._errors:
            return None

    def _handle(self, index: int) -> Any:
        if index not in self._handles:
            handle = self._call("nvmlDeviceGetHandleByIndex", index)
            if handle is None:
                return None
            self._handles[index] = handle
        return self._handles[index]

    def _device_call(self, index: int, name: str) -> Any:
        """`lib.<name>(handle of GPU index)`, or None if there is no handle or the call fails."""
        handle = self._handle(index)
        return None if handle is None else self._call(name, handle)

    def gpus(self) -> list[GpuInfo]:
        """Every GPU NVML can see, in NVML index order; `[]` if the count cannot be read."""
        count = self._call("nvmlDeviceGetCount")
        if not count:
            return []
        driver = self._call("nvmlSystemGetDriverVersion")
        cuda = self._call("nvmlSystemGetCudaDriverVersion")
        driver_s = None if driver is None else _text(driver)
        cuda_s = None if cuda is None else cuda_version_string(int(cuda))
        found = []
        for index in range(int(count)):
            info = self._gpu(index, driver_s, cuda_s)
            if info is not None:
                found.append(info)
        return found

    def _gpu(self, index: int, driver: str | None, cuda: str | None) -> GpuInfo | None:
        handle = self._handle(index)
        if handle is None:
            return None
        name = self._call("nvmlDeviceGetName", handle)
        uuid = self._call("nvmlDeviceGetUUID", handle)
        memory = self._call("nvmlDeviceGetMemoryInfo", handle)
        pci = self._call("nvmlDeviceGetPciInfo", handle)
        bus_id = getattr(pci, "busId", None)
        return GpuInfo(
            index=index,
            name=_text(name) if name is not None else f"GPU {index}",
            uuid=None if uuid is None else _text(uuid),
            memory_total_bytes=int(memory.total) if memory is not None else 0,
            driver_version=driver,
            cuda_driver_version=cuda,
            pci_bus_id=None if bus_id is None else _text(bus_id),
        )

    def process_memory_bytes(self, index: int, pid: int) -> int | None:
        """GPU memory used by compute process `pid` on GPU `index`; `None` if unknown or absent."""
        procs = self._device_call(index, "nvmlDeviceGetComputeRunningProcesses")
        if not procs:
            return None
        used = [p.usedGpuMemory for p in procs if p.pid == pid and p.usedGpuMemory is not None]
        # One process can appear once per MIG/compute instance; its footprint is the sum.
        return int(sum(used)) if used else None

    def sample(self, index: int) -> dict[str, int | float | None]:
        """One reading of GPU `index`; each field is `None` where NVML cannot provide it."""
        handle = self._handle(index)
        if handle is None:
            return dict.fromkeys(_SAMPLE_FIELDS)
        util = self._call("nvmlDeviceGetUtilizationRates", handle)
        memory = self._call("nvmlDeviceGetMemoryInfo", handle)
        power_mw = self._call("nvmlDeviceGetPowerUsage", handle)
        clock_sm = getattr(self._lib, "NVML_CLOCK_SM", _CLOCK_SM)
        sensor = getattr(self._lib, "NVML_TEMPERATURE_GPU", _TEMPERATURE_GPU)
        reasons = self._call("nvmlDeviceGetCurrentClocksEventReasons", handle)
        if reasons is None:  # drivers < 535 / older bindings only have the deprecated name
            reasons = self._call("nvmlDeviceGetCurrentClocksThrottleReasons", handle)
        return {
            "utilization_gpu_pct": None if util is None else int(util.gpu),
            "memory_used_bytes": None if memory is None else int(memory.used),
            "power_w": None if power_mw is None else power_mw / 1000.0,
            "sm_clock_mhz": self._call("nvmlDeviceGetClockInfo", handle, clock_sm),
            "temperature_c": self._call("nvmlDeviceGetTemperature", handle, sensor),
            "throttle_reasons": reasons,
        }

    def total_energy_mj(self, index: int) -> int | None:
        """Energy counter of GPU `index` in millijoules since driver load (Volta and newer)."""
        energy = self._device_call(index, "nvmlDeviceGetTotalEnergyConsumption")
        return None if energy is None else int(energy)

    def shutdown(self) -> None:
        """Release NVML; safe to call more than once, never raises an NVML error."""
        if self._closed:
            return
        self._closed = True
        self._handles.clear()
        self._call("nvmlShutdown")
