"""A fake `pynvml` for the `bench.hardware.nvml.Nvml` seam: boards, MIG slices, driver versions.

Function names, arguments and return shapes follow nvidia-ml-py 13's `pynvml.py`: structs with
attributes, strings as `str` or `bytes`, a `NVMLError` class that chosen calls raise. Three knobs
model what differs between machines:

- `fail`: calls that raise NVMLError (NotSupported);
- `missing`: names the *binding* lacks (old nvidia-ml-py releases), e.g. `nvmlMemory_v2`;
- `lacks`: C symbols the *driver* lacks: a wrapper that needs one raises
  NVMLError_FunctionNotFound, and the unversioned process call turns that into
  NVMLLibraryMismatchError (not an NVMLError), as pynvml's `throwOnVersionMismatch` does. The
  C functions themselves are reachable through `_nvmlGetFunctionPointer`, filling ctypes
  arrays the way the driver does.

A board or MIG slice is a dict, which is also its handle. MIG handles answer only what NVML
answers per instance (name, UUID, memory, processes, instance id); power, energy, utilisation,
clocks and temperature raise NotSupported on them, so a reading that comes back came from the
board.
"""

from __future__ import annotations

import ctypes
from types import SimpleNamespace
from typing import Any

GIB = 1024**3
NOT_SUPPORTED, NOT_FOUND, FUNCTION_NOT_FOUND = 3, 6, 13
PROCESS_SYMBOLS = {
    "nvmlDeviceGetComputeRunningProcesses_v3",
    "nvmlDeviceGetComputeRunningProcesses_v2",
    "nvmlDeviceGetComputeRunningProcesses",
}
BOARD_ONLY = {
    "nvmlDeviceGetUtilizationRates",
    "nvmlDeviceGetPowerUsage",
    "nvmlDeviceGetClockInfo",
    "nvmlDeviceGetTemperature",
    "nvmlDeviceGetCurrentClocksEventReasons",
    "nvmlDeviceGetCurrentClocksThrottleReasons",
    "nvmlDeviceGetTotalEnergyConsumption",
    "nvmlDeviceGetPciInfo",
    "nvmlDeviceGetMigMode",
    "nvmlDeviceGetMaxMigDeviceCount",
}


class FakeNVMLError(Exception):
    """Like pynvml.NVMLError: carries an error code."""

    def __init__(self, value: int = NOT_SUPPORTED) -> None:
        super().__init__(value)
        self.value = value


class FakeFunctionNotFound(FakeNVMLError):
    """Like pynvml.NVMLError_FunctionNotFound: the driver lacks the C symbol."""

    def __init__(self) -> None:
        super().__init__(FUNCTION_NOT_FOUND)


class FakeLibraryMismatch(Exception):
    """Like pynvml.NVMLLibraryMismatchError: an `Exception`, not an NVMLError."""


def gpu(name: Any, uuid: Any, total: int, used: int, **extra: Any) -> dict[str, Any]:
    """A board: `used` is allocated memory; `reserved` (default 0) is driver-reserved memory."""
    return {"name": name, "uuid": uuid, "total": total, "used": used, "reserved": 0} | extra


def mig_board(name: str = "NVIDIA A100-SXM4-40GB", uuid: str = "GPU-m1g") -> dict[str, Any]:
    """An A100 in MIG mode with two slices, at MIG indices 0 and 2 (index 1 is empty)."""
    board = gpu(name, uuid, 40 * GIB, 12 * GIB, bus="00000000:C1:00.0", procs=[], mig_mode=1)
    board["mig"] = {
        0: gpu(f"{name} MIG 3g.20gb", "MIG-aaaa-0001", 20 * GIB, 3 * GIB, gi=1, procs=[]),
        2: gpu(f"{name} MIG 1g.5gb", "MIG-bbbb-0002", 5 * GIB, 1 * GIB, gi=9, procs=[]),
    }
    for piece in board["mig"].values():
        piece["parent"] = board
    return board


class FakeNvmlLib:
    """A module-like stand-in for pynvml; by default two whole GPUs (an A100 and an H100)."""

    NVMLError = FakeNVMLError
    NVMLError_FunctionNotFound = FakeFunctionNotFound
    NVMLLibraryMismatchError = FakeLibraryMismatch
    NVML_CLOCK_SM = 1
    NVML_TEMPERATURE_GPU = 0
    NVML_DEVICE_MIG_ENABLE = 1
    nvmlMemory_v2 = 0x02000028

    def __init__(
        self,
        fail: set[str] | None = None,
        missing: set[str] | None = None,
        lacks: set[str] | None = None,
        gpus: list[dict[str, Any]] | None = None,
    ) -> None:
        self.fail = fail or set()
        self.missing = missing or set()
        self.lacks = lacks or set()
        self.calls: list[str] = []
        self.gpus = gpus if gpus is not None else default_gpus()

    def __getattribute__(self, name: str) -> Any:
        if name.startswith("nvml") and name in object.__getattribute__(self, "missing"):
            raise AttributeError(name)
        attr = object.__getattribute__(self, name)
        if name.startswith("nvml"):
            object.__getattribute__(self, "calls").append(name)
            if name in object.__getattribute__(self, "fail"):

                def raising(*args: Any, **kwargs: Any) -> Any:
                    raise FakeNVMLError()

                return raising
        return attr

    def _needs(self, symbol: str) -> None:
        if symbol in self.lacks:
            raise FakeFunctionNotFound()

    def nvmlInit(self) -> None:
        return None

    def nvmlShutdown(self) -> None:
        return None

    def nvmlSystemGetDriverVersion(self) -> str:
        return "550.54.15"

    def nvmlSystemGetCudaDriverVersion(self) -> int:
        return 12040

    def nvmlDeviceGetCount(self) -> int:
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> dict[str, Any]:
        if not 0 <= index < len(self.gpus):
            raise FakeNVMLError(2)  # NVML_ERROR_INVALID_ARGUMENT
        return self.gpus[index]

    def nvmlDeviceGetHandleByUUID(self, uuid: str) -> dict[str, Any]:
        for board in self.gpus:
            for handle in (board, *board.get("mig", {}).values()):
                if handle["uuid"] in (uuid, uuid.encode()):
                    return handle
        raise FakeNVMLError(NOT_FOUND)

    def nvmlDeviceGetName(self, handle: dict[str, Any]) -> str | bytes:
        return handle["name"]

    def nvmlDeviceGetUUID(self, handle: dict[str, Any]) -> str | bytes:
        return handle["uuid"]

    def nvmlDeviceGetCudaComputeCapability(self, handle: dict[str, Any]) -> tuple[int, int]:
        if "cc" not in handle:
            raise FakeNVMLError()
        return handle["cc"]

    def nvmlDeviceGetMemoryInfo(self, handle: dict[str, Any], version: int | None = None) -> Any:
        total, used, reserved = handle["total"], handle["used"], handle["reserved"]
        if not version:  # v1: `used` is reserved + allocated
            return SimpleNamespace(total=total, free=total - used - reserved, used=used + reserved)
        self._needs("nvmlDeviceGetMemoryInfo_v2")
        assert version == self.nvmlMemory_v2
        free = total - used - reserved
        info = SimpleNamespace(version=version, total=total, reserved=reserved, free=free)
        info.used = used
        return info

    def _board(self, handle: dict[str, Any], call: str) -> dict[str, Any]:
        if "parent" in handle and call in BOARD_ONLY:
            raise FakeNVMLError(NOT_SUPPORTED)
        return handle

    def nvmlDeviceGetPciInfo(self, handle: dict[str, Any]) -> SimpleNamespace:
        return SimpleNamespace(busId=self._board(handle, "nvmlDeviceGetPciInfo")["bus"])

    def nvmlDeviceGetMigMode(self, handle: dict[str, Any]) -> list[int]:
        mode = self._board(handle, "nvmlDeviceGetMigMode").get("mig_mode", 0)
        return [mode, mode]

    def nvmlDeviceGetMaxMigDeviceCount(self, handle: dict[str, Any]) -> int:
        return 7 if self._board(handle, "nvmlDeviceGetMaxMigDeviceCount").get("mig") else 0

    def nvmlDeviceGetMigDeviceHandleByIndex(self, handle: dict[str, Any], i: int) -> Any:
        if i not in handle.get("mig", {}):
            raise FakeNVMLError(NOT_FOUND)
        return handle["mig"][i]

    def nvmlDeviceIsMigDeviceHandle(self, handle: dict[str, Any]) -> ctypes.c_uint:
        return ctypes.c_uint(1 if "parent" in handle else 0)  # pynvml returns the c_uint

    def nvmlDeviceGetDeviceHandleFromMigDeviceHandle(self, handle: dict[str, Any]) -> Any:
        if "parent" not in handle:
            raise FakeNVMLError(2)
        return handle["parent"]

    def nvmlDeviceGetGpuInstanceId(self, handle: dict[str, Any]) -> int:
        if "parent" not in handle:
            raise FakeNVMLError(2)
        return handle["gi"]

    def _processes(self, handle: dict[str, Any]) -> list[SimpleNamespace]:
        return [SimpleNamespace(pid=p, usedGpuMemory=m) for p, m in handle["procs"]]

    def nvmlDeviceGetComputeRunningProcesses_v3(self, handle: dict[str, Any]) -> list[Any]:
        self._needs("nvmlDeviceGetComputeRunningProcesses_v3")
        return self._processes(handle)

    def nvmlDeviceGetComputeRunningProcesses_v2(self, handle: dict[str, Any]) -> list[Any]:
        self._needs("nvmlDeviceGetComputeRunningProcesses_v2")
        return self._processes(handle)

    def nvmlDeviceGetComputeRunningProcesses(self, handle: dict[str, Any]) -> list[Any]:
        try:  # pynvml ≥ 12.550: _v3 under throwOnVersionMismatch
            return self.nvmlDeviceGetComputeRunningProcesses_v3(handle)
        except FakeFunctionNotFound:
            raise FakeLibraryMismatch("use a versioned function") from None

    def _nvmlGetFunctionPointer(self, symbol: str) -> Any:
        """The driver's C function: fills (count, array of structs) and returns an NVML code."""
        self._needs(symbol)
        assert symbol in PROCESS_SYMBOLS, symbol
        self.calls.append(f"C:{symbol}")

        def c_function(handle: dict[str, Any], count: Any, infos: Any) -> int:
            procs, n = handle["procs"], count._obj  # byref(c_uint)._obj is the c_uint
            if infos is None:
                n.value = len(procs)
                return 7 if procs else 0  # INSUFFICIENT_SIZE with the count, or SUCCESS
            for info, (pid, used) in zip(infos, procs, strict=False):
                info.pid, info.usedGpuMemory = pid, 2**64 - 1 if used is None else used
            n.value = len(procs)
            return 0

        return c_function

    def nvmlDeviceGetUtilizationRates(self, handle: dict[str, Any]) -> SimpleNamespace:
        self._board(handle, "nvmlDeviceGetUtilizationRates")
        return SimpleNamespace(gpu=handle.get("util", 87), memory=40)

    def nvmlDeviceGetPowerUsage(self, handle: dict[str, Any]) -> int:
        return self._board(handle, "nvmlDeviceGetPowerUsage").get("power_mw", 251_500)

    def nvmlDeviceGetClockInfo(self, handle: dict[str, Any], clock: int) -> int:
        self._board(handle, "nvmlDeviceGetClockInfo")
        assert clock == self.NVML_CLOCK_SM
        return 1410

    def nvmlDeviceGetTemperature(self, handle: dict[str, Any], sensor: int) -> int:
        self._board(handle, "nvmlDeviceGetTemperature")
        assert sensor == self.NVML_TEMPERATURE_GPU
        return 61

    def nvmlDeviceGetCurrentClocksEventReasons(self, handle: dict[str, Any]) -> int:
        self._board(handle, "nvmlDeviceGetCurrentClocksEventReasons")
        return 0x1

    def nvmlDeviceGetCurrentClocksThrottleReasons(self, handle: dict[str, Any]) -> int:
        self._board(handle, "nvmlDeviceGetCurrentClocksThrottleReasons")
        return 0x4

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: dict[str, Any]) -> int:
        board = self._board(handle, "nvmlDeviceGetTotalEnergyConsumption")
        return board.get("energy_mj", 123_456_789)  # millijoules


def default_gpus() -> list[dict[str, Any]]:
    """An A100 (old bindings' bytes strings; 0.5 GiB driver-reserved) and an H100."""
    return [
        gpu(
            b"NVIDIA A100-SXM4-40GB",
            b"GPU-aaaa",
            40 * GIB,
            5 * GIB,
            reserved=GIB // 2,
            bus=b"00000000:3B:00.0",
            procs=[(4242, 3 * GIB), (4242, 1 * GIB), (99, 2 * GIB), (7, None)],
            cc=(8, 0),
        ),
        gpu(
            "NVIDIA H100 80GB HBM3",
            "GPU-bbbb",
            80 * GIB,
            1 * GIB,
            bus="00000000:86:00.0",
            procs=[],
            cc=(9, 0),
        ),
    ]
