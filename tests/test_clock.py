"""The harness's clock, host-memory peaks and the torch sync choice, with fakes for everything.

`Clock` is driven by a fake time function and fake peak probes that log every call into one
shared list, so the tests can check the order of sync → time read → bookkeeping, not just the
numbers.
"""

from __future__ import annotations

import gc
import sys
from types import SimpleNamespace
from typing import Any

import pytest

from bench.contract.schema import SINGLE_PHASES
from bench.runners.base import no_sync
from bench.runners.torch import pick_sync
from bench.trial.clock import Clock
from bench.trial.memory import HighWaterMark, read_vmhwm


class FakeTime:
    """A settable clock; every read is logged as "time"."""

    def __init__(self, log: list[str], now: float = 0.0) -> None:
        self.log, self.now = log, now

    def __call__(self) -> float:
        self.log.append("time")
        return self.now


class FakeProbe:
    def __init__(self, log: list[str], name: str, source: str, peaks: list[int | None]) -> None:
        self.log, self.name, self.source, self._peaks = log, name, source, list(peaks)
        self.resets = 0

    def reset(self) -> None:
        self.resets += 1
        self.log.append(f"{self.name}.reset")

    def peak(self) -> int | None:
        self.log.append(f"{self.name}.peak")
        return self._peaks.pop(0) if len(self._peaks) > 1 else self._peaks[0]


class Rig:
    """A Clock wired to fakes: `rig.at(t)` sets the time for the next read."""

    def __init__(
        self,
        *,
        host_peaks: list[int | None] | None = None,
        device: tuple[str, list[int | None]] | None = None,
        steps: int = 10,
        batch: int = 32,
    ) -> None:
        self.log: list[str] = []
        self.emitted: list[dict[str, Any]] = []
        self.time = FakeTime(self.log, 100.5)
        self.host = FakeProbe(self.log, "host", "fake_host", host_peaks or [1000])
        self.device = FakeProbe(self.log, "dev", device[0], device[1]) if device else None
        self.clock = Clock(
            origin=100.0,
            start=100.5,
            sync=lambda: self.log.append("sync"),
            emit=self.emitted.append,
            host_peak=self.host,
            steps_per_epoch=steps,
            batch_size=batch,
            time_fn=self.time,
        )

    def at(self, t: float) -> Clock:
        self.time.now = t
        return self.clock

    def setup(self) -> None:
        """The phases the harness marks, then `compile` at 103.0."""
        steps = (("harness", 100.5), ("import", 101.0), ("device_init", 101.25), ("data", 101.5))
        for phase, t in steps:
            self.at(t).mark(phase)
        self.clock.set_device_peaks([self.device] if self.device is not None else [])
        self.at(102.0).mark("build")
        self.at(103.0).start_training()

    def events(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.emitted if e["event"] == kind]


def test_phases_tile_from_spawn_to_end_of_epoch_1() -> None:
    rig = Rig()
    rig.setup()
    rig.at(103.5).first_step_done()
    rig.at(106.0).epoch_end(0.5)
    phases = rig.events("phase")
    assert [p["phase"] for p in phases] == list(SINGLE_PHASES)
    assert phases[0]["start_s"] == 0.0
    assert phases[0]["duration_s"] == pytest.approx(0.5)
    for before, after in zip(phases, phases[1:], strict=False):
        assert after["start_s"] == pytest.approx(before["start_s"] + before["duration_s"])
    durations = {p["phase"]: p["duration_s"] for p in phases}
    assert durations == pytest.approx(
        {
            "spawn": 0.5,
            "harness": 0.0,
            "import": 0.5,
            "device_init": 0.25,
            "data": 0.25,
            "build": 0.5,
            "compile": 1.0,
            "first_step": 0.5,
            "first_epoch_rest": 2.5,
        }
    )
    (epoch,) = rig.events("epoch")
    assert epoch["epoch"] == 1
    assert epoch["wall_s"] == pytest.approx(3.0)
    assert epoch["wall_s"] == pytest.approx(durations["first_step"] + durations["first_epoch_rest"])


def test_epochs_after_the_first_are_timed_begin_to_end() -> None:
    rig = Rig(steps=7, batch=16)
    rig.setup()
    rig.at(103.5).first_step_done()
    rig.at(106.0).epoch_end(1.0)
    for epoch, (begin, end) in enumerate([(106.5, 108.0), (108.25, 109.0)], start=2):
        rig.at(begin).epoch_begin()
        assert rig.clock.epoch == epoch
        rig.at(end).epoch_end(1.0 / epoch)
    epochs = rig.events("epoch")
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    assert [e["wall_s"] for e in epochs] == pytest.approx([3.0, 1.5, 0.75])
    assert [e["loss"] for e in epochs] == pytest.approx([1.0, 0.5, 1 / 3])
    assert all(e["steps"] == 7 and e["samples"] == 7 * 16 for e in epochs)
    assert len(rig.events("phase")) == len(SINGLE_PHASES), "later epochs add no phases"


def test_first_step_recorded_once() -> None:
    rig = Rig()
    rig.setup()
    rig.at(103.5).first_step_done()
    rig.at(106.0).epoch_end(None)
    rig.at(106.0).epoch_begin()
    rig.at(107.0).epoch_end(None)
    phases = [p["phase"] for p in rig.events("phase")]
    assert phases.count("first_step") == 1
    assert phases.count("first_epoch_rest") == 1


def test_one_step_epoch_still_has_first_step_and_rest() -> None:
    """A one-step epoch never calls first_step_done: its only step is the first."""
    rig = Rig(steps=1)
    rig.setup()
    rig.at(104.0).epoch_end(2.0)
    durations = {p["phase"]: p["duration_s"] for p in rig.events("phase")}
    assert list(durations) == list(SINGLE_PHASES)
    assert durations["first_step"] == pytest.approx(1.0)
    assert durations["first_epoch_rest"] == pytest.approx(0.0)
    (epoch,) = rig.events("epoch")
    assert epoch["wall_s"] == pytest.approx(1.0)


def test_epoch_rows_carry_probe_peaks_and_source() -> None:
    rig = Rig(host_peaks=[500, 1500, 2500], device=("fake_gpu_peak", [7000, 9000]))
    rig.setup()  # setup_peak reads 500
    rig.at(103.5).first_step_done()
    rig.at(104.0).epoch_end(None)
    rig.at(104.0).epoch_begin()
    rig.at(105.0).epoch_end(None)
    assert rig.events("setup_peak") == [{"event": "setup_peak", "peak_rss_bytes": 500}]
    epochs = rig.events("epoch")
    assert [e["peak_rss_bytes"] for e in epochs] == [1500, 2500]
    assert [e["peak_device_bytes"] for e in epochs] == [7000, 9000]
    assert {e["device_mem_source"] for e in epochs} == {"fake_gpu_peak"}
    assert [e["memory"] for e in epochs] == [
        {rig.host.source: 1500, "fake_gpu_peak": 7000},
        {rig.host.source: 2500, "fake_gpu_peak": 9000},
    ]
    # peaks are reset when epoch 1 starts and at every later epoch_begin
    assert rig.host.resets == 2
    assert rig.device is not None and rig.device.resets == 2


def test_epoch_rows_without_device_probe() -> None:
    rig = Rig(host_peaks=[1, 2])
    rig.setup()  # no device probe attached (set_device_peaks([]))
    rig.at(104.0).epoch_end(0.1)
    (epoch,) = rig.events("epoch")
    assert epoch["peak_device_bytes"] is None
    assert epoch["device_mem_source"] == ""
    assert epoch["peak_rss_bytes"] == 2


def test_peaks_reset_before_the_epoch_clock_starts() -> None:
    rig = Rig()
    rig.setup()
    rig.at(104.0).epoch_end(None)
    rig.log.clear()
    rig.at(104.5).epoch_begin()
    assert rig.log.index("host.reset") < rig.log.index("time")


def _time_reads_follow_sync(log: list[str]) -> bool:
    """Every "time" entry has a "sync" since the previous time read (or the start)."""
    synced = False
    for entry in log:
        if entry == "sync":
            synced = True
        elif entry == "time":
            if not synced:
                return False
            synced = False
    return True


def test_sync_before_every_phase_and_epoch_end_time_read() -> None:
    rig = Rig()
    rig.log.clear()  # the constructor reads no time
    rig.setup()
    rig.at(103.5).first_step_done()
    rig.at(106.0).epoch_end(lambda: rig.log.append("loss") or 0.25)
    assert rig.log.count("time") == 8  # 6 marks + first_step + epoch_end
    assert _time_reads_follow_sync(rig.log), rig.log
    # the loss is fetched after the clock has stopped, the peaks read after it too
    end = len(rig.log) - 1 - rig.log[::-1].index("time")
    assert rig.log[end - 1] == "sync"
    assert "loss" in rig.log[end:] and "host.peak" in rig.log[end:]
    assert rig.events("epoch")[0]["loss"] == 0.25


def test_sync_before_epoch_begin_time_read() -> None:
    rig = Rig()
    rig.setup()
    rig.at(104.0).epoch_end(None)
    rig.log.clear()
    rig.at(104.5).epoch_begin()
    rig.at(105.5).epoch_end(None)
    assert _time_reads_follow_sync(rig.log), rig.log


def test_setup_phases_go_out_live_and_nothing_from_compile_until_epoch_end() -> None:
    rig = Rig()
    rig.clock.note({"event": "framework", "version": "x"})
    rig.setup()
    live = ["spawn", "harness", "import", "device_init", "data", "build"]
    assert [e.get("phase") for e in rig.emitted] == [live[0], None, *live[1:]]
    assert rig.emitted[1]["event"] == "framework"
    before = len(rig.emitted)
    rig.at(103.5).first_step_done()
    assert len(rig.emitted) == before, "nothing is written during epoch 1"
    rig.at(106.0).epoch_end(None)
    kinds = [e["event"] for e in rig.emitted[before:]]
    assert kinds[0] == "setup_peak" and kinds[-1] == "epoch"
    assert [e["phase"] for e in rig.events("phase")][len(live) :] == [
        "compile",
        "first_step",
        "first_epoch_rest",
    ]
    count = len(rig.emitted)
    rig.at(106.5).epoch_begin()
    rig.clock.note({"event": "custom"})
    assert len(rig.emitted) == count
    rig.clock.flush()
    assert rig.emitted[-1] == {"event": "custom"}
    rig.clock.flush()
    assert len(rig.emitted) == count + 1, "flush empties the queue"


def test_flush_after_failure_keeps_the_phases_so_far() -> None:
    rig = Rig()
    rig.at(101.0).mark("import")
    rig.clock.flush()
    assert [e["phase"] for e in rig.emitted] == ["spawn", "import"]


# --- bench.trial.memory ---------------------------------------------------------------------------

STATUS = """Name:\tpython3
Umask:\t0022
State:\tR (running)
VmPeak:\t  415872 kB
VmSize:\t  415872 kB
VmHWM:\t   27804 kB
VmRSS:\t   27804 kB
Threads:\t1
"""


def test_read_vmhwm_parses_kilobytes() -> None:
    assert read_vmhwm(STATUS) == 27804 * 1024


def test_read_vmhwm_absent_is_none() -> None:
    assert read_vmhwm("Name:\tpython3\nVmRSS:\t 100 kB\n") is None
    assert read_vmhwm("") is None


def test_read_vmhwm_does_not_match_other_lines() -> None:
    assert read_vmhwm("VmHWMx:\t1 kB\nVmHWM:\t2 kB\n") == 2048


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="VmHWM is Linux-only")
def test_high_water_mark_reset_lowers_the_peak() -> None:
    np = pytest.importorskip("numpy")
    if not HighWaterMark.available():
        pytest.skip("/proc/self/clear_refs is not writable here")
    hwm = HighWaterMark()
    hwm.reset()
    baseline = hwm.peak()
    assert baseline is not None
    block = np.ones(200 * 2**20 // 8)  # 200 MiB, every page touched
    assert block.sum() > 0
    del block
    gc.collect()
    high = hwm.peak()
    assert high is not None and high >= baseline + 150 * 2**20
    hwm.reset()
    low = hwm.peak()
    assert low is not None and low <= high - 150 * 2**20


# --- bench.runners.torch.pick_sync ---------------------------------------------------------------


class Untouchable:
    """A stand-in for the torch module that fails the test if anything is looked up on it."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"torch.{name} was touched")


def test_pick_sync_cuda_returns_cuda_synchronize() -> None:
    calls: list[str] = []

    def synchronize() -> None:
        calls.append("synchronize")

    fake_torch = SimpleNamespace(cuda=SimpleNamespace(synchronize=synchronize))
    sync = pick_sync("cuda", fake_torch)
    assert sync is synchronize
    sync()
    assert calls == ["synchronize"]


def test_pick_sync_cpu_is_a_no_op_that_never_touches_torch() -> None:
    sync = pick_sync("cpu", Untouchable())
    assert sync is no_sync
    assert sync() is None
