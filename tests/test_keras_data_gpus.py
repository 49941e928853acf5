"""A Keras data-parallel trial meters every GPU it was given (issue 30, defect 2): its one
process sees all N GPUs, so energy is summed over their boards (each board once, however many
MIG slices of it the process has), samples combine the GPUs' readings, and device-memory peaks
are the largest per-GPU figure — the same figure a torch data-parallel trial records over its
ranks. Fake pynvml (tests/fake_nvml.py) and fake framework modules at the seams."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fake_nvml import GIB
from test_gpu_truth import PID, UUIDS, four_a100s, gpus_seen, mig_lib

from bench.contract.trial import Trial
from bench.core.config import load
from bench.core.plan import plan
from bench.hardware.nvml import Nvml
from bench.launchers.ranks import largest_device_peaks, merged_events
from bench.runners import keras_backends
from bench.trial.energy import EnergyMeter
from bench.trial.gpu_set import several_gpus
from bench.trial.sampler import Sampler

NOWHERE = Path("/nonexistent")  # no RAPL: the GPUs' energy alone


def data_trials(
    monkeypatch: pytest.MonkeyPatch,
    visible: str,
    framework: str,
    lib: Any = None,
    skipped: bool = False,
) -> list[Trial]:
    """The data-parallel trials planned on these GPUs: those that run, or those skipped."""
    sweep: dict[str, Any] = {"frameworks": [framework], "models": ["seed_ffnn"], "repeats": 1}
    sweep |= {"parallel": ["data"], "keras_backends": ["tensorflow"], "keras_modes": ["graph"]}
    cfg = load(None, {"sweep": sweep}, ["test"])
    planned = plan(cfg, gpus_seen(monkeypatch, visible, lib), 2)
    return [t for t in planned if bool(t.skip) == skipped]


def test_a_keras_data_parallel_process_drives_every_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    (keras,) = data_trials(monkeypatch, "1,3", "keras")
    assert keras.gpu_keys == (UUIDS[1], UUIDS[3])
    (torch,) = data_trials(monkeypatch, "1,3", "torch")
    ranks = [dataclasses.replace(torch, rank=r, device_uuid=u) for r, (_, u) in enumerate(
        torch.rank_gpus)]  # fmt: skip
    assert [r.gpu_keys for r in ranks] == [(UUIDS[1],), (UUIDS[3],)], "a rank: its own GPU"


def test_energy_is_summed_over_every_board(monkeypatch: pytest.MonkeyPatch) -> None:
    (trial,) = data_trials(monkeypatch, "1,3", "keras")
    lib = four_a100s_lib()
    meter = EnergyMeter.detect(Nvml(lib), trial.gpu_keys, root=NOWHERE)
    assert meter.sources == "nvml"
    meter.begin()
    lib.gpus[1]["energy_mj"] += 4_000
    lib.gpus[3]["energy_mj"] += 6_000
    lib.gpus[0]["energy_mj"] += 99_000  # a board the trial does not use
    assert meter.end() == pytest.approx(10.0)


def test_a_board_whose_counter_fails_gives_no_energy_not_a_partial_sum() -> None:
    lib = four_a100s_lib()
    nvml = Nvml(lib)
    meter = EnergyMeter.detect(nvml, (UUIDS[0], UUIDS[1]), root=NOWHERE)
    meter.begin()
    lib.gpus[0]["energy_mj"] += 1_000
    lib.gpus[1]["energy_mj"] -= 1  # a driver reload reset board 1's counter
    assert meter.end() is None


def test_two_mig_slices_of_one_board_count_its_energy_once() -> None:
    lib = mig_lib()
    meter = EnergyMeter.detect(Nvml(lib), ("MIG-aaaa-0001", "MIG-bbbb-0002"), root=NOWHERE)
    assert meter.sources == "nvml-board"
    meter.begin()
    lib.gpus[0]["energy_mj"] = 123_456_789 + 3_000
    assert meter.end() == pytest.approx(3.0), "the board's counter, not twice"
    both = EnergyMeter.detect(Nvml(lib), ("MIG-aaaa-0001", "GPU-hhhh"), root=NOWHERE)
    both.begin()
    lib.gpus[0]["energy_mj"] += 1_000
    lib.gpus[1]["energy_mj"] = 123_456_789 + 2_000
    assert both.end() == pytest.approx(3.0)


def four_a100s_lib() -> Any:
    from fake_nvml import FakeNvmlLib

    return FakeNvmlLib(gpus=four_a100s())


def test_a_sample_of_several_gpus_combines_them_as_the_trial_figures_do() -> None:
    lib = four_a100s_lib()
    lib.gpus[1]["util"], lib.gpus[3]["util"] = 60, 90
    nvml = Nvml(lib)
    gpus = [UUIDS[1], UUIDS[3]]
    reading = several_gpus(nvml, gpus, nvml.one_per_board(gpus), PID)
    assert reading["power_w"] == 200.0 + 400.0  # the boards' power together
    assert reading["process_memory_bytes"] == 4 * GIB  # the larger GPU's (board n holds n + 1)
    assert reading["memory_used_bytes"] == 3 * GIB  # board 3: 3 GiB used
    assert reading["utilization_gpu_pct"] == 75.0
    assert (reading["sm_clock_mhz"], reading["temperature_c"]) == (1410, 61)
    assert reading["throttle_reasons"] == 0x1
    me = os.getpid()  # the sampler's own process, as the driver lists it
    lib.gpus[1]["procs"], lib.gpus[3]["procs"] = [(me, GIB)], [(me, 2 * GIB)]
    sampler = Sampler(0.01, nvml=nvml, gpu=tuple(gpus))
    sampler.start()
    rows = sampler.stop()
    assert rows[0]["gpu_power_w"] == 600.0 and rows[0]["gpu_process_memory_bytes"] == 2 * GIB


def test_mig_slices_of_one_board_share_its_power_and_keep_their_own_memory() -> None:
    lib = mig_lib()
    lib.gpus[0]["mig"][0]["procs"] = [(PID, 5 * GIB)]
    lib.gpus[0]["mig"][2]["procs"] = [(PID, 2 * GIB)]
    nvml = Nvml(lib)
    gpus = ["MIG-aaaa-0001", "MIG-bbbb-0002"]
    assert nvml.one_per_board(gpus) == ["MIG-aaaa-0001"]
    reading = several_gpus(nvml, gpus, nvml.one_per_board(gpus), PID)
    assert reading["power_w"] == 251.5, "one board, counted once"
    assert reading["process_memory_bytes"] == 5 * GIB and reading["memory_used_bytes"] == 3 * GIB


def test_a_gpu_without_a_reading_empties_that_column() -> None:
    lib = four_a100s_lib()
    nvml = Nvml(lib)
    gpus = [UUIDS[0], UUIDS[1]]
    lib.gpus[1]["procs"] = []  # the process is not (yet) on board 1
    reading = several_gpus(nvml, gpus, gpus, PID)
    assert reading["process_memory_bytes"] is None and reading["power_w"] == 300.0


class FakeTfMemory:
    """tf.config.experimental's allocator statistics, per logical GPU."""

    def __init__(self, peaks: dict[str, int]) -> None:
        self.peaks, self.resets = peaks, []

    def reset_memory_stats(self, name: str) -> None:
        self.resets.append(name)

    def get_memory_info(self, name: str) -> dict[str, int]:
        return {"current": 0, "peak": self.peaks[name]}


def test_tensorflow_peak_is_the_largest_over_the_replicas_gpus() -> None:
    memory = FakeTfMemory({"GPU:0": 3 * GIB, "GPU:1": 5 * GIB})
    tf = SimpleNamespace(config=SimpleNamespace(experimental=memory))
    (probe,) = keras_backends.device_peaks("tensorflow", tf, "cuda", devices=2)
    probe.reset()
    assert memory.resets == ["GPU:0", "GPU:1"] and probe.peak() == 5 * GIB
    (single,) = keras_backends.device_peaks("tensorflow", tf, "cuda")
    assert single.peak() == 3 * GIB, "a single trial: its one GPU"


def test_jax_peaks_are_the_largest_over_the_replicas_gpus() -> None:
    stats = [{"peak_bytes_in_use": 2 * GIB, "bytes_in_use": GIB},
             {"peak_bytes_in_use": 6 * GIB, "bytes_in_use": 4 * GIB}]  # fmt: skip
    devices = [SimpleNamespace(memory_stats=lambda s=s: s) for s in stats]
    jax = SimpleNamespace(devices=lambda: devices)
    since_start, at_bounds = keras_backends.device_peaks("jax", jax, "cuda", devices=2)
    at_bounds.reset()
    assert (since_start.peak(), at_bounds.peak()) == (6 * GIB, 4 * GIB)


def test_the_keras_data_runner_probes_every_replicas_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench.runners.keras_data import KerasDataRunner

    (trial,) = data_trials(monkeypatch, "1,3", "keras")
    runner = KerasDataRunner(trial)
    memory = FakeTfMemory({"GPU:0": GIB, "GPU:1": 2 * GIB})
    runner.framework = SimpleNamespace(config=SimpleNamespace(experimental=memory))
    (probe,) = runner.device_peaks()
    assert probe.peak() == 2 * GIB


def rank_epoch(peak: int, process: int | None) -> dict[str, Any]:
    memory = {"host_vmhwm": 9 * peak, "torch_max_memory_allocated": peak}
    return {
        "event": "epoch",
        "peak_rss_bytes": 9 * peak,
        "peak_device_bytes": peak,
        "device_mem_source": "torch_max_memory_allocated",
        "memory": memory | ({"nvml_process_used": process} if process else {}),
    }


def test_torch_data_parallel_peak_is_the_largest_over_its_ranks() -> None:
    first, second = rank_epoch(GIB, 2 * GIB), rank_epoch(3 * GIB, None)
    merged = largest_device_peaks(first, [first, second])
    assert merged["peak_device_bytes"] == 3 * GIB
    assert merged["memory"]["torch_max_memory_allocated"] == 3 * GIB
    assert merged["memory"]["nvml_process_used"] == 2 * GIB, "not every rank had it: rank 0's"
    assert merged["peak_rss_bytes"] == 9 * GIB and merged["memory"]["host_vmhwm"] == 9 * GIB
    assert largest_device_peaks(first, [first]) == first


def test_the_trials_child_meters_and_samples_every_gpu(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`python -m bench.trial`'s own wiring: the meter and the sampler get all of the GPUs."""
    import json

    from bench.trial import __main__ as child

    (trial,) = data_trials(monkeypatch, "1,3", "keras")
    given: dict[str, Any] = {}

    class Stopped(SimpleNamespace):
        time_fn = None

        def import_framework(self) -> str:
            raise RuntimeError("stop here")

    def detect(nvml: Any, gpu: Any = None, root: Path = NOWHERE) -> EnergyMeter:
        given["energy"] = gpu
        return EnergyMeter()

    def sampler(interval: float, nvml: Any, gpu: Any, **kwargs: Any) -> Any:
        given["sampler"] = gpu
        return SimpleNamespace(start=lambda: None, stop=lambda: [], drain=lambda: [])

    monkeypatch.setattr(Nvml, "load", classmethod(lambda cls: Nvml(four_a100s_lib())))
    monkeypatch.setattr("bench.runners.base.make_runner", lambda trial: Stopped())
    monkeypatch.setattr(EnergyMeter, "detect", staticmethod(detect))
    monkeypatch.setattr("bench.trial.sampler.Sampler", sampler)
    path = tmp_path / "trial.json"
    path.write_text(json.dumps(dataclasses.replace(trial, monitor_interval_s=0.2).to_json()))
    assert child.run(str(path), str(tmp_path / "events.jsonl"), 0.0) == 1
    assert given == {"energy": (UUIDS[1], UUIDS[3]), "sampler": (UUIDS[1], UUIDS[3])}


def test_torch_ranks_on_mig_slices_of_one_board_count_its_energy_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two ranks on slices of board 0, one on the whole H100 (board 1): board 0's counter,
    which both of its ranks read, counts once. (The plan skips data-parallel trials on MIG
    slices — NCCL has no MIG support —; the merge counts boards right all the same.)"""
    (trial,) = data_trials(monkeypatch, "GPU-m1g,GPU-hhhh", "torch", mig_lib(), skipped=True)
    assert "MIG" in trial.skip and trial.world_size == 3
    ranks = ((0, "MIG-aaaa-0001"), (0, "MIG-bbbb-0002"), (1, "GPU-hhhh"))
    trial = dataclasses.replace(trial, skip="", rank_gpus=ranks)  # as if it had run
    epochs = [{"event": "epoch", "epoch": 1, "energy_cpu_j": 1.0, "energy_gpu_j": g}
              for g in (30.0, 31.0, 50.0)]  # fmt: skip
    merged = merged_events(trial, [[e] for e in epochs])[0]
    assert merged["energy_gpu_j"] == 30.0 + 50.0 and merged["energy_j"] == 81.0
