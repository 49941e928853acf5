"""The narrow seam around NVML: GPU inventory (MIG slices included) and per-trial GPU readings,
without a framework.

`Nvml` wraps a *library object* — in production the `pynvml` module from the `nvidia-ml-py`
package, in tests a fake with the same function names — so every GPU code path can be exercised
on a machine with no driver. Only `Nvml.load()` imports `pynvml`, and only when called.

Semantics taken from nvidia-ml-py's `pynvml.py` (13.x) and the NVML API reference:

- strings: `nvmlDeviceGetName`, `nvmlDeviceGetUUID` and `nvmlSystemGetDriverVersion` return `str`
  in current releases (decorated with `convertStrBytes`) but `bytes` in old ones; both are
  accepted. PCI info is a ctypes struct whose `busId` field is likewise `str` or `bytes`.
- `nvmlSystemGetCudaDriverVersion` returns an int, 1000 * major + 10 * minor (12040 → "12.4").
- `nvmlDeviceGetPowerUsage` is milliwatts (on Ampere and newer, except GA100, a 1 s average);
  `nvmlDeviceGetTotalEnergyConsumption` is millijoules since the driver was loaded.
- memory: `nvmlDeviceGetMemoryInfo(handle, version=nvmlMemory_v2)` where the binding has the
  `nvmlMemory_v2` constant (≥ 11.510): its `used` is allocated memory, while v1's `used` is "the
  sum of reserved and allocated" (`nvmlMemory_t` / `nvmlMemory_v2_t` in the API reference; R525's
  page said otherwise, later ones do not). A driver without `nvmlDeviceGetMemoryInfo_v2` (before
  R510) raises FunctionNotFound, and v1 is read.
- processes: `_v3` → `_v2` → v1, see `bench.hardware.nvml_versions`. Each entry has `pid` and
  `usedGpuMemory` (None where NVML cannot say: WDDM). PIDs are as the driver sees them: inside a
  container with its own PID namespace they may not match `os.getpid()`.
- MIG: `nvmlDeviceGetMigMode` → [current, pending]; in MIG mode the slices are the MIG device
  handles `nvmlDeviceGetMigDeviceHandleByIndex(board, i)` for i < `nvmlDeviceGetMaxMigDeviceCount`
  (an index without a MIG device raises NotFound and is skipped). A MIG handle answers name (the
  MIG device name, its profile included), UUID (`MIG-<uuid>` from R470; what
  `CUDA_VISIBLE_DEVICES` takes), memory and processes of the slice itself ("per-instance
  information can be queried by using specific MIG device handles"); utilisation, power,
  energy, clocks, temperature and throttle reasons are read from the board
  (`nvmlDeviceGetDeviceHandleFromMigDeviceHandle`), so they are *board-level*: shared with every
  other slice. `nvmlDeviceIsMigDeviceHandle` returns a ctypes `c_uint` (truthy when set).
- `nvmlDeviceGetCudaComputeCapability(handle)` returns (major, minor), e.g. (8, 0) for an A100.
- a GPU is addressed by its UUID (`nvmlDeviceGetHandleByUUID`, which takes `GPU-` and `MIG-`
  UUIDs) or, only where NVML gave no UUID, by its NVML index (PCI bus order).
- Every failed call raises a subclass of `lib.NVMLError` (NotSupported, NotFound,
  FunctionNotFound on an older driver...); `NVMLLibraryMismatchError` is not an `NVMLError`, so it
  is caught too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.contract.trial import is_mig_uuid
from bench.hardware.nvml_versions import PROCESS_CALLS, raw_processes

_MIG_ENABLE = 1  # pynvml.NVML_DEVICE_MIG_ENABLE
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

GpuKey = int | str  # a UUID ("GPU-…", "MIG-…"), or an NVML index where there is no UUID


@dataclass(frozen=True, slots=True)
class MigSlice:
    """One MIG device of a board in MIG mode: a compute instance of a GPU instance."""

    mig_index: int  # its index for nvmlDeviceGetMigDeviceHandleByIndex on its board
    name: str  # NVML's MIG device name, the profile included
    uuid: str  # "MIG-…": what CUDA_VISIBLE_DEVICES takes
    memory_total_bytes: int  # the slice's own memory
    gpu_instance_id: int | None


@dataclass(frozen=True, slots=True)
class GpuInfo:
    """One GPU board as NVML reports it; `index` is the NVML index (PCI bus order)."""

    index: int
    name: str
    uuid: str | None
    memory_total_bytes: int
    driver_version: str | None
    cuda_driver_version: str | None
    pci_bus_id: str | None
    mig_enabled: bool = False
    mig_slices: tuple[MigSlice, ...] = ()
    compute_capability: tuple[int, int] | None = None  # (major, minor); None if unknown


@dataclass(frozen=True, slots=True)
class _Target:
    handle: Any  # the device's own handle (a MIG device handle for a slice)
    board: Any  # the whole board's handle: the same unless `mig` (None if it could not be read)
    mig: bool


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
        self._targets: dict[GpuKey, _Target] = {}
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

    def _guarded(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except self._errors:
            return None

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call `lib.<name>(*args)`; `None` if the binding lacks it or NVML reports an error."""
        fn: Callable[..., Any] | None = getattr(self._lib, name, None)
        return None if fn is None else self._guarded(fn, *args, **kwargs)

    def _on(self, handle: Any, name: str, *args: Any) -> Any:
        """`lib.<name>(handle, *args)`, or None without a handle or when the call fails."""
        return None if handle is None else self._call(name, handle, *args)

    def _memory(self, handle: Any) -> Any:
        """Memory info, v2 (`used` without driver-reserved memory) where available, else v1."""
        version = getattr(self._lib, "nvmlMemory_v2", None)
        if version is not None:
            info = self._call("nvmlDeviceGetMemoryInfo", handle, version=version)
            if info is not None:
                return info
        return self._call("nvmlDeviceGetMemoryInfo", handle)

    def gpus(self) -> list[GpuInfo]:
        """Every GPU board NVML can see, in NVML index order, each with its MIG slices;
        `[]` if the count cannot be read. NVML ignores `CUDA_VISIBLE_DEVICES`."""
        count = self._call("nvmlDeviceGetCount")
        if not count:
            return []
        driver = self._call("nvmlSystemGetDriverVersion")
        cuda = self._call("nvmlSystemGetCudaDriverVersion")
        driver_s = None if driver is None else _text(driver)
        cuda_s = None if cuda is None else cuda_version_string(int(cuda))
        found = []
        for index in range(int(count)):
            handle = self._call("nvmlDeviceGetHandleByIndex", index)
            if handle is not None:
                found.append(self._gpu(index, handle, driver_s, cuda_s))
        return found

    def _gpu(self, index: int, handle: Any, driver: str | None, cuda: str | None) -> GpuInfo:
        name = self._call("nvmlDeviceGetName", handle)
        uuid = self._call("nvmlDeviceGetUUID", handle)
        memory = self._memory(handle)
        bus_id = getattr(self._call("nvmlDeviceGetPciInfo", handle), "busId", None)
        mode = self._call("nvmlDeviceGetMigMode", handle)
        mig = mode is not None and mode[0] == getattr(self._lib, "NVML_DEVICE_MIG_ENABLE", 1)
        board_name = _text(name) if name is not None else f"GPU {index}"
        capability = self._call("nvmlDeviceGetCudaComputeCapability", handle)
        return GpuInfo(
            index=index,
            name=board_name,
            uuid=None if uuid is None else _text(uuid),
            memory_total_bytes=int(memory.total) if memory is not None else 0,
            driver_version=driver,
            cuda_driver_version=cuda,
            pci_bus_id=None if bus_id is None else _text(bus_id),
            mig_enabled=mig,
            mig_slices=self._slices(handle, board_name) if mig else (),
            compute_capability=None if capability is None else tuple(map(int, capability[:2])),
        )

    def _slices(self, board: Any, board_name: str) -> tuple[MigSlice, ...]:
        """The MIG devices of a board in MIG mode; one without a UUID cannot be addressed and is
        left out."""
        found = []
        for i in range(int(self._call("nvmlDeviceGetMaxMigDeviceCount", board) or 0)):
            handle = self._call("nvmlDeviceGetMigDeviceHandleByIndex", board, i)
            uuid = self._on(handle, "nvmlDeviceGetUUID")
            if uuid is None:  # NotFound: no MIG device at this index
                continue
            name = self._on(handle, "nvmlDeviceGetName")
            label = _text(name) if name is not None else f"{board_name} MIG {i}"
            memory = self._memory(handle)
            found.append(
                MigSlice(
                    mig_index=i,
                    name=label if "MIG" in label.split() else f"{board_name} MIG {label}",
                    uuid=_text(uuid),
                    memory_total_bytes=int(memory.total) if memory is not None else 0,
                    gpu_instance_id=self._on(handle, "nvmlDeviceGetGpuInstanceId"),
                )
            )
        return tuple(found)

    def _target(self, gpu: GpuKey) -> _Target | None:
        """The handles of GPU `gpu` (a UUID, else an NVML index), cached once found."""
        if gpu in self._targets:
            return self._targets[gpu]
        if isinstance(gpu, str):
            handle = self._call("nvmlDeviceGetHandleByUUID", gpu)
        else:
            handle = self._call("nvmlDeviceGetHandleByIndex", gpu)
        if handle is None:
            return None
        flag = self._call("nvmlDeviceIsMigDeviceHandle", handle)
        mig = bool(flag) if flag is not None else isinstance(gpu, str) and is_mig_uuid(gpu)
        board = (
            self._call("nvmlDeviceGetDeviceHandleFromMigDeviceHandle", handle) if mig else handle
        )
        self._targets[gpu] = _Target(handle, board, mig)
        return self._targets[gpu]

    def board_level(self, gpu: GpuKey) -> bool:
        """True when `gpu` is a MIG slice: its power, energy, utilisation, clock, temperature and
        throttle readings are the whole board's, shared with the other slices."""
        target = self._target(gpu)
        return target is not None and target.mig

    def board_id(self, gpu: GpuKey) -> str | None:
        """Which board `gpu` is on (a MIG slice: its board): the board's UUID, else its PCI bus
        id; None when NVML names neither."""
        target = self._target(gpu)
        board = None if target is None else target.board
        uuid = self._on(board, "nvmlDeviceGetUUID")
        if uuid is not None:
            return _text(uuid)
        bus = getattr(self._on(board, "nvmlDeviceGetPciInfo"), "busId", None)
        return None if bus is None else _text(bus)

    def one_per_board(self, gpus: list[GpuKey]) -> list[GpuKey]:
        """`gpus` less any whose board an earlier one is on: MIG slices of one board share its
        energy counter and its board-level readings, which must be counted once. A GPU whose
        board NVML cannot name counts as a board of its own."""
        seen: set[str] = set()
        kept = []
        for gpu in gpus:
            board = self.board_id(gpu) or f"unnamed board of {gpu}"
            if board not in seen:
                seen.add(board)
                kept.append(gpu)
        return kept

    def process_memory_bytes(self, gpu: GpuKey, pid: int) -> int | None:
        """GPU memory used by compute process `pid` on `gpu`; `None` if unknown or absent."""
        target = self._target(gpu)
        procs = None if target is None else self._processes(target.handle)
        if not procs:
            return None
        used = [p.usedGpuMemory for p in procs if p.pid == pid and p.usedGpuMemory is not None]
        # One process can appear once per MIG/compute instance; its footprint is the sum.
        return int(sum(used)) if used else None

    def _processes(self, handle: Any) -> list[Any] | None:
        """Compute processes on `handle`: the newest API the binding and driver both have."""
        for name, struct in PROCESS_CALLS:
            if struct is None:
                procs = self._call(name, handle)
            else:
                procs = self._guarded(raw_processes, self._lib, handle, name, struct)
            if procs is not None:
                return procs
        return None

    def sample(self, gpu: GpuKey) -> dict[str, int | float | None]:
        """One reading of `gpu`; each field is `None` where NVML cannot provide it. Memory is the
        device's own (a slice's for MIG); the rest is the board's (see `board_level`)."""
        target = self._target(gpu)
        if target is None:
            return dict.fromkeys(_SAMPLE_FIELDS)
        memory = self._memory(target.handle)
        board = target.board
        util = self._on(board, "nvmlDeviceGetUtilizationRates")
        power_mw = self._on(board, "nvmlDeviceGetPowerUsage")
        clock_sm = getattr(self._lib, "NVML_CLOCK_SM", _CLOCK_SM)
        sensor = getattr(self._lib, "NVML_TEMPERATURE_GPU", _TEMPERATURE_GPU)
        reasons = self._on(board, "nvmlDeviceGetCurrentClocksEventReasons")
        if reasons is None:  # drivers < 535 / older bindings only have the deprecated name
            reasons = self._on(board, "nvmlDeviceGetCurrentClocksThrottleReasons")
        return {
            "utilization_gpu_pct": None if util is None else int(util.gpu),
            "memory_used_bytes": None if memory is None else int(memory.used),
            "power_w": None if power_mw is None else power_mw / 1000.0,
            "sm_clock_mhz": self._on(board, "nvmlDeviceGetClockInfo", clock_sm),
            "temperature_c": self._on(board, "nvmlDeviceGetTemperature", sensor),
            "throttle_reasons": reasons,
        }

    def total_energy_mj(self, gpu: GpuKey) -> int | None:
        """Energy counter of `gpu`'s board in millijoules since driver load (Volta and newer)."""
        target = self._target(gpu)
        if target is None:
            return None
        energy = self._on(target.board, "nvmlDeviceGetTotalEnergyConsumption")
        return None if energy is None else int(energy)

    def shutdown(self) -> None:
        """Release NVML; safe to call more than once, never raises an NVML error."""
        if self._closed:
            return
        self._closed = True
        self._targets.clear()
        self._call("nvmlShutdown")
