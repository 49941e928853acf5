"""NVML details: per-process memory across NVML versions (_v3 → _v2 → v1), memory info v2
(driver-reserved memory left out of `used`), and the epoch window of the NVML memory peak.

The fake pynvml of tests/fake_nvml.py models a binding (which wrappers it has) and a driver
(which C functions it has) separately, as they differ on real machines.
"""

from __future__ import annotations

from typing import Any

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


# --- the epoch window of the NVML memory peak ----------------------------------------------


def sample(t_s: float, used: int | None) -> dict[str, Any]:
    return {"t_s": t_s, "gpu_process_memory_bytes": used}


def test_nvml_peak_counts_only_the_epochs_own_samples() -> None:
    from bench.trial.__main__ import _with_nvml_peak

    event: dict[str, Any] = {"start_s": 10.0, "wall_s": 2.0, "memory": {}}
    drained = [
        sample(9.5, 9 * GIB),  # the previous epoch's validation
        sample(10.5, 2 * GIB),
        sample(11.0, None),
        sample(11.9, 3 * GIB),
        sample(12.5, 8 * GIB),  # after the epoch's clock stopped
    ]
    _with_nvml_peak(event, drained)
    assert event["memory"]["nvml_process_used"] == 3 * GIB


def test_epoch_one_leaves_set_up_out_and_an_empty_window_has_no_peak() -> None:
    from bench.trial.__main__ import _with_nvml_peak
    from bench.trial.clock import Clock

    now = [100.5]
    events: list[dict[str, Any]] = []
    probe = type("Probe", (), {"source": "host", "reset": lambda s: None, "peak": lambda s: 1})()
    clock = Clock(
        origin=100.0,
        start=100.5,
        sync=lambda: None,
        emit=events.append,
        host_peak=probe,
        steps_per_epoch=1,
        batch_size=1,
        time_fn=lambda: now[0],
    )
    now[0] = 103.0
    clock.start_training()  # set-up ends 3.0 s after the spawn
    now[0] = 104.0
    clock.epoch_end(0.5)
    (epoch,) = [e for e in events if e["event"] == "epoch"]
    assert (epoch["start_s"], epoch["wall_s"]) == (3.0, 1.0)
    _with_nvml_peak(epoch, [sample(1.0, 6 * GIB), sample(3.5, GIB)])  # 1.0: loading data
    assert epoch["memory"]["nvml_process_used"] == GIB
    quiet: dict[str, Any] = {"start_s": 3.0, "wall_s": 1.0, "memory": {}}
    _with_nvml_peak(quiet, [sample(2.0, GIB), sample(4.5, GIB)])
    assert "nvml_process_used" not in quiet["memory"]
