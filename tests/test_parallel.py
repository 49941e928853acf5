"""Data-parallel trials: the plan (parallel × world sizes, ids, skips), the rank supervisor (a
rank that crashes, a rank that hangs, Ctrl-C: every rank gone), the NCCL seam (fakes), rank
rows, and a real 2-rank torch (gloo) trial on the CPU."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psutil
import pytest
from conftest import REPO, only_run_dir, read_csv, run_cli

from bench.core.config import load
from bench.core.plan import plan
from bench.core.rows import trial_rows
from bench.errors import UsageError
from bench.hardware.devices import Device, cpu_device
from bench.launchers.ranks import (
    free_port,
    machine_energy,
    rank_env,
    rank_trial,
    run_ranks,
)
from bench.runners import torch_ddp
from bench.trial.clock import Clock


def config(**sweep: Any) -> Any:
    fake = sweep.pop("fake", {})
    train = sweep.pop("train", {})
    doc = {
        "sweep": {"frameworks": ["fake"], "models": ["seed_cnn"], "repeats": 1, **sweep},
        "fake": {"phase_s": 0.0, "first_step_s": 0.0, "epoch_s": [0.0], **fake},
        "train": {"samples": 64, **train},
    }
    return load(None, doc, ["test"])


def gpu(i: int) -> Device:
    return Device(f"cuda:{i}", "cuda", "H200", i, 1 << 30, "driver", uuid=f"GPU-{i}")


# --- the plan ---


def test_parallel_by_world_sizes_on_the_cpu() -> None:
    cfg = config(parallel=["single", "data"], world_sizes=[2, 3], threads=[4])
    trials = plan(cfg, [cpu_device()], 4)
    got = [(t.parallel, t.world_size, t.samples_per_epoch) for t in trials]
    assert got == [("single", 1, 64), ("data", 2, 128), ("data", 3, 192)]
    assert trials[1].trial_id.endswith("-t4-dp2-r0") and "dp" not in trials[0].trial_id
    assert not trials[1].evaluate, "data-parallel trials do not validate"
    assert len({t.trial_id for t in trials}) == 3


def test_cpu_world_size_defaults_to_2_and_ranks_split_the_threads() -> None:
    trial = plan(config(parallel=["data"], threads=[5]), [cpu_device()], 5)[0]
    assert trial.world_size == 2
    assert [rank_trial(trial, r).threads for r in (0, 1)] == [2, 2]
    one = dataclasses.replace(trial, threads=1)
    assert rank_trial(one, 1).threads == 1, "at least one thread each"


def test_cuda_data_parallel_uses_every_chosen_gpu_once() -> None:
    gpus = [gpu(0), gpu(1), gpu(2)]
    trials = plan(config(parallel=["single", "data"]), gpus, 4)
    data = [t for t in trials if t.parallel == "data"]
    assert len(data) == 1 and data[0].device == "cuda:0" and data[0].world_size == 3
    assert data[0].rank_gpus == ((0, "GPU-0"), (1, "GPU-1"), (2, "GPU-2"))
    ranks = [rank_trial(data[0], r) for r in range(3)]
    assert [r.cuda_visible_id for r in ranks] == ["GPU-0", "GPU-1", "GPU-2"]
    assert len([t for t in trials if t.parallel == "single"]) == 3


def test_skips_say_why() -> None:
    cfg = config(frameworks=["numpy", "keras", "torch"], parallel=["data"], world_sizes=[2, 4])
    trials = plan(cfg, [gpu(0), gpu(1)], 4)
    why = {(t.framework, t.world_size): t.skip for t in trials}
    assert "numpy runner has no data-parallel mode" in why[("numpy", 2)]
    assert why[("keras", 2)] == ""
    assert why[("torch", 2)] == ""
    assert why[("torch", 4)] == "world size 4 needs 4 GPUs; the sweep chose 2"


def test_data_parallel_over_a_mig_slice_is_planned_skipped_naming_it() -> None:
    mig = Device("cuda:1", "cuda", "A100 MIG 3g.40gb", 1, 1 << 30, "driver", uuid="MIG-a1b2")
    cfg = config(frameworks=["torch", "keras"], parallel=["single", "data"], world_sizes=[1, 2])
    trials = plan(cfg, [gpu(0), mig], 4)
    data = {(t.framework, t.world_size): t for t in trials if t.parallel == "data"}
    for framework in ("torch", "keras"):
        two = data[(framework, 2)]
        assert "cannot use a MIG slice: cuda:1 (A100 MIG 3g.40gb, MIG-a1b2)" in two.skip
        assert "NCCL does not support MIG" in two.skip and two.rank_gpus == ()
        assert data[(framework, 1)].skip == "", "one rank on a whole GPU needs no NCCL"
    singles = [t for t in trials if t.parallel == "single"]
    assert [t.skip for t in singles] == [""] * len(singles), "a slice alone still runs"
    whole = plan(cfg, [gpu(0), gpu(1)], 4)
    assert all(not t.skip for t in whole if t.world_size == 2)


def test_bad_parallel_value_is_a_clear_error() -> None:
    with pytest.raises(UsageError, match=r"\[sweep\] parallel = \['pipeline'\] is invalid"):
        config(parallel=["pipeline"])
    with pytest.raises(UsageError, match=r"\[sweep\] world_sizes = \[0\] is invalid"):
        config(world_sizes=[0])


def test_parallel_flags_plan_data_parallel_trials(tmp_path: Path) -> None:
    proc = run_cli("run", "--frameworks", "fake", "--models", "seed_cnn", "--devices", "cpu",
                   "--repeats", "1", "--parallel", "single,data", "--world-sizes", "2",
                   "--out", str(tmp_path), "--dry-run")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "000-fake-scripted-seed_cnn-cpu-b64-t2-r0: " in proc.stdout
    assert "-dp2-r0: " in proc.stdout and "dp2 (batch per replica)" in proc.stdout
    bad = run_cli("run", "--parallel", "model", "--out", str(tmp_path), "--dry-run")
    assert bad.returncode == 2 and "[sweep] parallel = ['model'] is invalid" in bad.stderr


# --- one rank's environment, the clock, the rows ---


def test_rank_env_is_torchruns_with_a_free_port(tmp_path: Path) -> None:
    trial = plan(config(parallel=["data"]), [cpu_device()], 2)[0]
    port = free_port()
    env = rank_env(rank_trial(trial, 1), 1, port, tmp_path)
    assert {k: env[k] for k in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR")} == {
        "RANK": "1",
        "LOCAL_RANK": "1",
        "WORLD_SIZE": "2",
        "MASTER_ADDR": "127.0.0.1",
    }
    assert env["MASTER_PORT"] == str(port) and env["OMP_NUM_THREADS"] == "1"
    assert env["CUDA_VISIBLE_DEVICES"] == ""


def test_clock_with_a_barrier_records_local_time_and_the_wait() -> None:
    now = [0.0]
    events: list[dict[str, Any]] = []
    probe = SimpleNamespace(source="rss", reset=lambda: None, peak=lambda: 1)

    def barrier() -> None:
        now[0] += 0.25  # this rank waits 0.25 s for a slower one

    clock = Clock(origin=0.0, start=0.0, sync=lambda: None, emit=events.append, host_peak=probe,
                  steps_per_epoch=2, batch_size=8, time_fn=lambda: now[0])  # fmt: skip
    clock.set_barrier(barrier)
    clock.start_training()
    now[0] += 1.0
    clock.epoch_end(0.5)
    epoch = next(e for e in events if e["event"] == "epoch")
    assert epoch["wall_s"] == 1.25 and epoch["local_s"] == 1.0 and epoch["barrier_wait_s"] == 0.25


def test_energy_counted_once_gpu_summed_over_ranks() -> None:
    rank0 = {"energy_cpu_j": 10.0, "energy_gpu_j": 5.0, "energy_j": 15.0}
    merged = machine_energy(rank0, [rank0, {"energy_gpu_j": 7.0, "energy_cpu_j": 10.0}])
    assert merged["energy_gpu_j"] == 12.0 and merged["energy_j"] == 22.0
    assert machine_energy(rank0, [rank0, {"energy_gpu_j": None}]) == rank0


def test_rank_events_become_ranks_csv_and_the_straggler_wait() -> None:
    trial = plan(config(parallel=["data"]), [cpu_device()], 2)[0]
    events = [
        {
            "event": "rank_epoch",
            "rank": r,
            "epoch": e,
            "wall_s": 1.0,
            "local_s": 1.0 - w,
            "barrier_wait_s": w,
            "samples": 64,
        }  # fmt: skip
        for r, e, w in (
            (0, 1, 0.5),
            (1, 1, 0.0),
            (0, 2, 0.1),
            (1, 2, 0.0),
            (0, 3, 0.0),
            (1, 3, 0.3),
        )  # fmt: skip
    ]
    rows = trial_rows("run", trial, "ok", 0, "", events, None)
    assert [(r.rank, r.epoch) for r in rows["ranks.csv"]] == [
        (0, 1), (1, 1), (0, 2), (1, 2), (0, 3), (1, 3)]  # fmt: skip
    assert rows["trials.csv"][0].straggler_wait_s == pytest.approx(0.2)  # median of 0.1, 0.3


# --- the NCCL seam, with fakes ---


class FakeDist:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple, dict]] = []

    def init_process_group(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append(("init_process_group", args, kwargs))

    def barrier(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append(("barrier", args, kwargs))


class FakeTorch:
    @staticmethod
    def device(kind: str, index: int) -> tuple[str, int]:
        return (kind, index)


def test_nccl_forms_the_communicator_eagerly_on_the_ranks_gpu() -> None:
    dist = FakeDist()
    assert torch_ddp.init_process_group(dist, FakeTorch, "cuda", 3, 8) == "nccl"
    torch_ddp.barrier(dist, "cuda")
    (_, args, kwargs), (_, _, barrier) = dist.calls
    assert args == ("nccl",)
    assert kwargs == {"init_method": "env://", "rank": 3, "world_size": 8,
                      "device_id": ("cuda", 0)}  # fmt: skip
    assert barrier == {"device_ids": [0]}


def test_gloo_on_the_cpu() -> None:
    dist = FakeDist()
    assert torch_ddp.init_process_group(dist, FakeTorch, "cpu", 1, 2) == "gloo"
    torch_ddp.barrier(dist, "cpu")
    assert dist.calls[0][1] == ("gloo",) and "device_id" not in dist.calls[0][2]
    assert dist.calls[1][1:] == ((), {})


# --- the rank supervisor (scripted fake ranks) ---


def fake_data_trial(timeout_s: float = 60.0, **fake: Any) -> Any:
    cfg = config(parallel=["data"], fake={"sleep": True, **fake},
                 train={"epochs": 2, "timeout_s": timeout_s})  # fmt: skip
    return plan(cfg, [cpu_device()], 2)[0]


def processes_under(path: Path) -> list[psutil.Process]:
    """Live processes whose command line names a file under `path` (the ranks)."""
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        cmd = " ".join(proc.info["cmdline"] or [])
        if str(path) + os.sep in cmd and proc.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(proc)
    return found


def test_a_rank_that_crashes_fails_the_trial_and_stops_the_others(tmp_path: Path) -> None:
    trial = fake_data_trial(epoch_s=[60.0], fail="raise", fail_rank=1)
    began = time.monotonic()
    outcome = run_ranks(trial, tmp_path / "work", tmp_path / "t.log", poll_s=0.05)
    assert outcome.status == "failed"
    assert outcome.error == "rank 1 of 2: RuntimeError: scripted failure in epoch 1"
    assert time.monotonic() - began < 50, "rank 0 was stopped, not waited for"
    assert not processes_under(tmp_path)
    assert (tmp_path / "t.rank1.log").read_text().count("scripted failure") >= 1


@pytest.mark.parametrize("rank", [0, 1])
@pytest.mark.parametrize(("fail", "said"), [("kill", "killed by SIGKILL"), ("exit", "exited")])
def test_the_rank_that_died_first_is_blamed(
    tmp_path: Path, rank: int, fail: str, said: str
) -> None:
    """Not the rank the supervisor stopped afterwards (its SIGTERM must not tie with the cause)."""
    trial = fake_data_trial(epoch_s=[60.0], fail=fail, fail_rank=rank)
    outcome = run_ranks(trial, tmp_path / "work", tmp_path / "t.log", poll_s=0.05)
    assert outcome.status == "failed" and outcome.error.startswith(f"rank {rank} of 2: {said}")
    assert not processes_under(tmp_path)


def test_a_hung_rank_times_out_and_every_rank_is_killed(tmp_path: Path) -> None:
    trial = fake_data_trial(timeout_s=3.0, epoch_s=[2.0], fail="hang", fail_rank=1)
    outcome = run_ranks(trial, tmp_path / "work", tmp_path / "t.log", poll_s=0.05)
    assert outcome.status == "timeout" and "timeout_s = 3 s" in outcome.error
    assert not processes_under(tmp_path)


def test_ranks_that_finish_give_rank_0s_events_and_every_ranks_epochs(tmp_path: Path) -> None:
    trial = fake_data_trial(epoch_s=[0.05])
    seen: list[dict[str, Any]] = []
    outcome = run_ranks(trial, tmp_path / "work", tmp_path / "t.log", seen.append, poll_s=0.05)
    assert outcome.status == "ok", outcome.error
    ranks = sorted((e["rank"], e["epoch"]) for e in outcome.events if e["event"] == "rank_epoch")
    assert ranks == [(0, 1), (0, 2), (1, 1), (1, 2)]
    epochs = [e for e in outcome.events if e["event"] == "epoch"]
    assert [e["samples"] for e in epochs] == [2 * 64, 2 * 64], "global samples"
    assert {e["samples"] for e in outcome.events if e["event"] == "rank_epoch"} == {64}
    assert len([e for e in seen if e["event"] == "epoch"]) == 2, "rank 0's events shown live"


CTRL_C = """
[sweep]
frameworks = ["fake"]
models = ["seed_cnn"]
devices = ["cpu"]
parallel = ["data"]
warmup = 0
[train]
epochs = 2
samples = 64
[fake]
sleep = true
phase_s = 0.0
epoch_s = [60.0]
"""


def test_ctrl_c_stops_every_rank_and_records_interrupted(tmp_path: Path) -> None:
    cfg = tmp_path / "bench.toml"
    cfg.write_text(CTRL_C)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench", "run", "--config", str(cfg), "--out", str(out),
         "--no-report"],
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(processes_under(out)) < 2:
            time.sleep(0.1)
        assert len(processes_under(out)) == 2, "both ranks started"
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, stdout + stderr
    assert "Traceback" not in stderr
    trials = read_csv(only_run_dir(out) / "trials.csv")
    assert [(t["status"], t["parallel"], t["world_size"]) for t in trials] == [
        ("interrupted", "data", "2")
    ]
    assert not processes_under(out)


# --- a real 2-rank DistributedDataParallel trial (gloo, CPU) ---


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch not installed")
def test_torch_gloo_two_ranks_seed_cnn(tmp_path: Path) -> None:
    proc = run_cli(
        "run", "--frameworks", "torch", "--models", "seed_cnn", "--devices", "cpu",
        "--batch-sizes", "16", "--epochs", "2", "--samples", "32", "--threads", "2",
        "--repeats", "1", "--set", "sweep.parallel=data", "--set", "sweep.world_sizes=2",
        "--set", "sweep.warmup=0", "--no-report", "--out", str(tmp_path),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = only_run_dir(tmp_path)
    (trial,) = read_csv(run / "trials.csv")
    assert trial["status"] == "ok", trial["error"]
    assert (trial["parallel"], trial["world_size"], trial["samples_per_epoch"]) == (
        "data",
        "2",
        "64",
    )
    assert float(trial["straggler_wait_s"]) >= 0
    per_device = float(trial["flops_per_sample"]) * 32 / float(trial["steady_epoch_s"])
    assert float(trial["achieved_flops_per_s"]) == pytest.approx(per_device, rel=1e-6), (
        "achieved FLOP/s (and MFU) is one device's: each rank's 32 samples, not the global 64"
    )
    epochs = read_csv(run / "epochs.csv")
    assert [int(e["samples"]) for e in epochs] == [64, 64], "global = 2 ranks × 32"
    ranks = read_csv(run / "ranks.csv")
    assert sorted((r["rank"], r["epoch"], r["samples"]) for r in ranks) == [
        ("0", "1", "32"), ("0", "2", "32"), ("1", "1", "32"), ("1", "2", "32")]  # fmt: skip
    phases = [p["phase"] for p in read_csv(run / "phases.csv")]
    assert phases.index("dist_init") == phases.index("device_init") + 1
    assert phases.index("wrap") == phases.index("build") + 1
    settings = {s["key"]: s["value"] for s in read_csv(run / "settings.csv")}
    assert settings["torch.distributed.backend"] == "gloo"
    assert settings["torch.distributed.world_size"] == "2"
    assert settings["torch.num_threads"] == "1", "each rank gets its share of the threads"
    assert (run / "logs" / f"{trial['trial_id']}.rank1.log").exists()
    meta = json.loads((run / "run.json").read_text())
    assert meta["config"]["sweep"]["parallel"] == ["data"]


# --- the report's scaling table ---


def test_scaling_efficiency_pairs_each_data_parallel_config_with_its_single_twin(
    tmp_path: Path,
) -> None:
    from analysis.analyze import analyze
    from analysis.load import load_runs
    from analysis.report import write_report
    from analysis.scaling import scaling_table

    proc = run_cli(
        "run", "--frameworks", "fake", "--models", "seed_cnn", "--devices", "cpu",
        "--set", "sweep.parallel=single,data", "--set", "sweep.world_sizes=2",
        "--set", "fake.epoch_s=1.0", "--no-report", "--out", str(tmp_path),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = only_run_dir(tmp_path)
    epochs = read_csv(run / "epochs.csv")
    for e in epochs:  # the data-parallel epochs take 1.25 s
        if "-dp2-" in e["trial_id"]:
            e["wall_s"] = str(float(e["wall_s"]) * 1.25)
    lines = [",".join(epochs[0])] + [",".join(e.values()) for e in epochs]
    (run / "epochs.csv").write_text("\n".join(lines) + "\n")
    runs = load_runs([run])
    a = analyze(runs)
    table = scaling_table(a.trials, a.configs, runs.phases, runs.extra["ranks.csv"])
    (row,) = table.itertuples(index=False)
    assert row.world_size == 2 and row.single_steady_s == 1.0 and row.data_steady_s == 1.25
    assert row.speedup == pytest.approx(1.6) and row.efficiency == pytest.approx(0.8)
    assert row.configuration == "seed_cnn · cpu · fake scripted"
    write_report([run], tmp_path / "report")
    assert "## Data-parallel scaling" in (tmp_path / "report" / "report.md").read_text()


def test_a_version_4_folder_loads_without_rank_rows(tmp_path: Path) -> None:
    from test_analysis_support import as_version

    from analysis.load import load_runs

    proc = run_cli("run", "--frameworks", "fake", "--models", "seed_cnn", "--devices", "cpu",
                   "--no-report", "--out", str(tmp_path))  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = as_version(only_run_dir(tmp_path), 4)
    assert not (run / "ranks.csv").exists()
    runs = load_runs([run])
    assert runs.extra["ranks.csv"].empty and set(runs.trials["parallel"]) == {"single"}


# --- Keras: one process, its replicas the devices of that process ---


def test_keras_data_parallel_plan_skips_and_environment(tmp_path: Path) -> None:
    from bench.launchers.local import child_env

    cfg = config(frameworks=["keras"], keras_backends=["tensorflow", "jax", "torch"],
                 keras_modes=["graph", "xla"], parallel=["data"])  # fmt: skip
    trials = {(t.backend, t.mode): t for t in plan(cfg, [cpu_device()], 2)}
    assert trials[("tensorflow", "graph")].skip == ""
    assert "logical CPU" in trials[("tensorflow", "xla")].skip
    assert trials[("jax", "xla")].skip == ""
    assert "not on torch" in trials[("torch", "xla")].skip
    jax = trials[("jax", "xla")]
    assert not jax.launches_ranks and jax.samples_per_epoch == 2 * 64
    assert "--xla_force_host_platform_device_count=2" in child_env(jax, tmp_path)["XLA_FLAGS"]
    on_gpus = plan(cfg, [gpu(0), gpu(1)], 2)
    tf_gpu = next(t for t in on_gpus if (t.backend, t.mode) == ("tensorflow", "xla"))
    assert tf_gpu.skip == "" and tf_gpu.cuda_visible_id == "GPU-0,GPU-1"


class FakeTF:
    def __init__(self) -> None:
        self.made: list[Any] = []
        self.config = SimpleNamespace(
            list_physical_devices=lambda kind: [f"physical-{kind}"],
            LogicalDeviceConfiguration=lambda: "logical",
            set_logical_device_configuration=lambda dev, confs: self.made.append((dev, confs)),
        )
        self.distribute = SimpleNamespace(MirroredStrategy=lambda devices: ("mirrored", devices))


def test_mirrored_strategy_over_the_trials_gpus_or_logical_cpus() -> None:
    from bench.runners import keras_data

    tf = FakeTF()
    assert keras_data.mirrored(tf, "cuda", 4) == (
        "mirrored",
        ["/gpu:0", "/gpu:1", "/gpu:2", "/gpu:3"],
    )
    assert keras_data.logical_cpus(tf, 2) == ["/cpu:0", "/cpu:1"]
    assert tf.made == [("physical-CPU", ["logical", "logical"])]
    assert keras_data.mirrored(tf, "cpu", 2) == ("mirrored", ["/cpu:0", "/cpu:1"])


KERAS = [b for b in ("tensorflow", "jax") if importlib.util.find_spec(b)]


@pytest.mark.skipif(
    importlib.util.find_spec("keras") is None or not KERAS, reason="Keras not installed"
)
def test_keras_data_parallel_on_two_cpu_devices(tmp_path: Path) -> None:
    modes = {"tensorflow": "graph", "jax": "xla"}
    proc = run_cli(
        "run", "--frameworks", "keras", "--models", "seed_cnn", "--devices", "cpu",
        "--batch-sizes", "16", "--epochs", "2", "--samples", "32", "--threads", "2",
        "--repeats", "1", "--set", f"sweep.keras_backends={','.join(KERAS)}",
        "--set", f"sweep.keras_modes={','.join(modes[b] for b in KERAS)}",
        "--set", "sweep.parallel=data", "--set", "sweep.world_sizes=2",
        "--set", "sweep.warmup=0", "--no-report", "--out", str(tmp_path),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = only_run_dir(tmp_path)
    ran = [t for t in read_csv(run / "trials.csv") if t["status"] != "skipped"]
    assert {t["backend"] for t in ran} == set(KERAS)
    assert all(t["status"] == "ok" and t["samples_per_epoch"] == "64" for t in ran), ran
    settings = read_csv(run / "settings.csv")
    replicas = {s["trial_id"]: s["value"] for s in settings if s["key"] == "keras.replicas"}
    assert sorted(replicas) == sorted(t["trial_id"] for t in ran)
    assert set(replicas.values()) == {"2"}
    assert not read_csv(run / "ranks.csv"), "one process: no per-replica clocks"
    phases = {(p["trial_id"], p["phase"]) for p in read_csv(run / "phases.csv")}
    assert all((t["trial_id"], "dist_init") in phases for t in ran)
