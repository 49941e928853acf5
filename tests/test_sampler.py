"""The background sampler: row structure, CPU-% priming, GPU columns through the NVML seam.

Threads make a fake clock awkward, so these tests run the real thread at a 10 ms interval and
assert structure and loose count bounds only — never speed.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bench.hardware.nvml import Nvml
from bench.trial.sampler import SAMPLE_COLUMNS, Sampler

MIB = 1024**2


class FakeNVMLError(Exception):
    pass


class FakeNvmlLib:
    """A pynvml stand-in with one GPU on which this process uses 300 MiB (in two entries)."""

    NVMLError = FakeNVMLError

    def __init__(self, pid: int, fail: frozenset[str] = frozenset()) -> None:
        self.pid = pid
        self.fail = fail
        self.samples = 0

    def _maybe_fail(self, name: str) -> None:
        if name in self.fail:
            raise FakeNVMLError(name)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> str:
        if index != 3:
            raise FakeNVMLError("invalid index")
        return "gpu3"

    def nvmlDeviceGetUtilizationRates(self, handle: str) -> SimpleNamespace:
        self.samples += 1
        return SimpleNamespace(gpu=95, memory=50)

    def nvmlDeviceGetMemoryInfo(self, handle: str) -> SimpleNamespace:
        return SimpleNamespace(total=8000 * MIB, used=1000 * MIB, free=7000 * MIB)

    def nvmlDeviceGetPowerUsage(self, handle: str) -> int:
        self._maybe_fail("nvmlDeviceGetPowerUsage")
        return 200_000  # mW

    def nvmlDeviceGetClockInfo(self, handle: str, clock: int) -> int:
        return 1755

    def nvmlDeviceGetTemperature(self, handle: str, sensor: int) -> int:
        return 70

    def nvmlDeviceGetCurrentClocksEventReasons(self, handle: str) -> int:
        return 0x20

    def nvmlDeviceGetComputeRunningProcesses(self, handle: str) -> list[SimpleNamespace]:
        return [
            SimpleNamespace(pid=self.pid, usedGpuMemory=200 * MIB),
            SimpleNamespace(pid=self.pid, usedGpuMemory=100 * MIB),
            SimpleNamespace(pid=self.pid + 1, usedGpuMemory=999 * MIB),
        ]


def _run(sampler: Sampler, seconds: float) -> list[dict[str, Any]]:
    sampler.start()
    end = time.monotonic() + seconds
    while time.monotonic() < end:  # keep the CPU busy so cpu_percent has something to see
        sum(i * i for i in range(2000))
    return sampler.stop()


def test_cpu_rows_have_the_schema_columns_and_no_gpu_values() -> None:
    rows = _run(Sampler(0.01), 0.3)
    assert 3 <= len(rows) <= 0.3 / 0.01 + 3  # first row at start, last at stop
    assert all(tuple(r) == SAMPLE_COLUMNS for r in rows)
    assert all(r[c] is None for r in rows for c in SAMPLE_COLUMNS if c.startswith("gpu_"))
    assert all(isinstance(r["rss_bytes"], int) and r["rss_bytes"] > 0 for r in rows)
    assert rows[0]["cpu_percent"] is None  # the primed first reading is dropped
    assert all(isinstance(r["cpu_percent"], float) for r in rows[1:])
    assert max(r["cpu_percent"] for r in rows[1:]) > 0
    times = [r["t_s"] for r in rows]
    assert times == sorted(times)


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="needs Linux /proc")
def test_rows_carry_the_noise_readings() -> None:
    rows = _run(Sampler(0.02), 0.3)
    assert rows[0]["cpu_steal_pct"] is None and rows[0]["other_cpu_pct"] is None  # no interval
    assert all(isinstance(r["load_avg_1m"], float) for r in rows)
    later = [r for r in rows[1:] if r["cpu_steal_pct"] is not None]
    assert later, "every later row covers an interval"
    assert all(0 <= r["cpu_steal_pct"] <= 100 and r["other_cpu_pct"] >= 0 for r in later)


def test_t_s_uses_the_given_clock_and_origin() -> None:
    ticks = iter(range(1000, 10**6))
    sampler = Sampler(0.01, clock=lambda: float(next(ticks)), origin=1000.0)
    rows = _run(sampler, 0.05)
    assert [r["t_s"] for r in rows] == [float(i) for i in range(len(rows))]


def test_gpu_columns_come_from_the_nvml_seam() -> None:
    pid = os.getpid()
    lib = FakeNvmlLib(pid)
    rows = _run(Sampler(0.01, nvml=Nvml(lib), gpu=3, pid=pid), 0.1)
    assert len(rows) >= 2 and lib.samples == len(rows)
    for row in rows:
        assert row["gpu_util_pct"] == 95
        assert row["gpu_memory_used_bytes"] == 1000 * MIB
        assert row["gpu_process_memory_bytes"] == 300 * MIB  # both entries of this PID summed
        assert row["gpu_power_w"] == 200.0
        assert row["gpu_sm_clock_mhz"] == 1755
        assert row["gpu_temperature_c"] == 70
        assert row["gpu_throttle_reasons"] == 0x20


def test_failing_nvml_calls_leave_empty_cells() -> None:
    pid = os.getpid()
    lib = FakeNvmlLib(pid, fail=frozenset({"nvmlDeviceGetPowerUsage"}))
    rows = _run(Sampler(0.01, nvml=Nvml(lib), gpu=3, pid=pid), 0.05)
    assert all(r["gpu_power_w"] is None and r["gpu_util_pct"] == 95 for r in rows)
    missing_gpu = _run(Sampler(0.01, nvml=Nvml(lib), gpu=0, pid=pid), 0.05)
    assert all(r["gpu_util_pct"] is None for r in missing_gpu)


def test_drain_hands_out_each_row_once() -> None:
    sampler = Sampler(0.01)
    sampler.start()
    time.sleep(0.1)
    first = sampler.drain()
    time.sleep(0.05)
    rest = sampler.stop()
    assert first and rest
    assert first[-1]["t_s"] < rest[0]["t_s"]
    assert sampler.drain() == [] and sampler.stop() == []
    assert not sampler.running


def test_on_tick_runs_on_the_thread_and_errors_do_not_stop_sampling() -> None:
    calls: list[str] = []

    def tick() -> None:
        calls.append(threading.current_thread().name)
        raise RuntimeError("boom")

    sampler = Sampler(0.01, on_tick=tick)
    rows = _run(sampler, 0.1)
    assert calls and set(calls) == {"bench-sampler"}
    assert len(rows) >= 3
    assert sampler.error == "RuntimeError: boom"


def test_context_manager_keeps_rows_for_drain() -> None:
    with Sampler(0.01) as sampler:
        time.sleep(0.03)
    assert not sampler.running
    assert len(sampler.drain()) >= 2


def test_bad_interval_and_double_start_are_rejected() -> None:
    with pytest.raises(ValueError, match="interval_s"):
        Sampler(0)
    sampler = Sampler(0.01)
    sampler.start()
    try:
        with pytest.raises(RuntimeError, match="once"):
            sampler.start()
    finally:
        sampler.stop()
