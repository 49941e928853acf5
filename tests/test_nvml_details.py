"""NVML details: per-process memory across NVML versions (_v3 → _v2 → v1) and memory info v2
(driver-reserved memory left out of `used`).

The fake pynvml of tests/fake_nvml.py models a binding (which wrappers it has) and a driver
(which C functions it has) separately, as they differ on real machines.
"""

from __future__ import annotations

import pytest
from fake_nvml import GIB, FakeNvmlLib

from bench.hardware.nvml import Nvml

# --- NVML versions -------------------------------------------------------------------------

V3 = "nvmlDeviceGetComputeRunningProcesses_v3"
V2 = "nvmlDeviceGetComputeRunningProcesses_v2"
V1 = "nvmlDeviceGetComputeRunningProcesses"


def test_processes_fall_back_to_v2_when_the_unversioned_call_mismatches() -> None:
    lib = FakeNvmlLib(lacks={V3})  # a driver before R510 under pynvml 13
    with pytest.raises(lib.NVMLLibraryMismatchError):
        lib.nvmlDeviceGetComputeRunningProcesses(lib.gpus[0])
    assert Nvml(lib).process_memory_bytes(0, 4242) == 4 * GIB
    assert V2 in lib.calls


def test_processes_reach_v2_on_a_binding_without_its_wrapper() -> None:
    lib = FakeNvmlLib(lacks={V3}, missing={V2})  # nvidia-ml-py 11.510 … 12.535
    assert Nvml(lib).process_memory_bytes(0, 4242) == 4 * GIB
    assert f"C:{V2}" in lib.calls


def test_processes_fall_back_to_the_v1_api() -> None:
    lib = FakeNvmlLib(lacks={V3, V2})  # a driver before _v2
    nvml = Nvml(lib)
    assert nvml.process_memory_bytes(0, 4242) == 4 * GIB
    assert nvml.process_memory_bytes(0, 99) == 2 * GIB
    assert nvml.process_memory_bytes(0, 7) is None  # NVML_VALUE_NOT_AVAILABLE
    assert nvml.process_memory_bytes(1, 4242) is None  # no processes at all
    assert f"C:{V1}" in lib.calls


def test_memory_used_excludes_driver_reserved_memory() -> None:
    assert Nvml(FakeNvmlLib()).sample(0)["memory_used_bytes"] == 5 * GIB  # v2: allocated


@pytest.mark.parametrize(
    "knob",
    [{"missing": {"nvmlMemory_v2"}}, {"lacks": {"nvmlDeviceGetMemoryInfo_v2"}}],
    ids=["old-binding", "old-driver"],
)
def test_memory_falls_back_to_v1(knob: dict[str, set[str]]) -> None:
    nvml = Nvml(FakeNvmlLib(**knob))
    assert nvml.sample(0)["memory_used_bytes"] == 5 * GIB + GIB // 2  # v1: reserved included
    assert nvml.gpus()[0].memory_total_bytes == 40 * GIB
