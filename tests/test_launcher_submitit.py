"""The cluster launchers: `submitit-local` end to end (submitit's real LocalExecutor, real jobs,
the scripted fake runner), and the Slurm parameters and sbatch lines made from a `[launcher]`.

Real Slurm is not exercised here (that is `tests/test_slurm_real.py`): the Slurm tests here check
what would be submitted (submitit's own sbatch text, built with submitit's `srun` detection
patched to succeed), never a submission.
The requeue test sends SIGUSR2 — the signal submitit's job handler catches on preemption — to
the running job's process; submitit's LocalExecutor then requeues the job, as Slurm would.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from bench.core.config import load
from bench.errors import UsageError
from bench.launchers.slurm import _mount_type, check_folder, sbatch_script, slurm_parameters
from tests.test_fake_e2e import ROOT, SCRIPT, SWEEP, Run, bench, read_table

submitit = pytest.importorskip("submitit")

LAUNCHER = '\n[launcher]\nkind = "submitit-local"\n{extra}\n'
SLOW = "phase_s = 0.1\nfirst_step_s = 0.1\nepoch_s = [1.0]\nsleep = true\n"


def write_config(tmp_path: Path, fake: str = SCRIPT, launcher: str | None = "", **kw) -> Path:
    text = SWEEP.format(repeats=1, epochs=4, batch_sizes=kw.get("batch_sizes", "[16, 32]"),
                        train_extra="", fake=fake)  # fmt: skip
    if launcher is not None:
        text += LAUNCHER.format(extra=launcher)
    path = tmp_path / "fake.toml"
    path.write_text(text, encoding="utf-8")
    return path


def runs_in(out: Path) -> list[Path]:
    return sorted(p for p in out.iterdir() if (p / "run.json").exists())


# --- submitit-local end to end -------------------------------------------------------------------


def test_submitit_local_matches_the_local_launcher(tmp_path: Path) -> None:
    (tmp_path / "l").mkdir()
    local_cfg = write_config(tmp_path / "l", launcher=None)
    local = Run(bench("run", "--config", str(local_cfg), "--out", str(tmp_path / "lo"),
                      "--no-report", cwd=tmp_path), tmp_path / "lo", local_cfg)  # fmt: skip
    cfg = write_config(tmp_path, launcher='partitions = ["a100", "cpu"]')
    done = bench("run", "--config", str(cfg), "--out", str(tmp_path / "out"), "--no-report",
                 cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr + done.stdout
    folders = runs_in(tmp_path / "out")
    assert [p.name.rsplit("-", 1)[1] for p in folders] == ["a100", "cpu"]
    metas = [json.loads((p / "run.json").read_text()) for p in folders]
    assert metas[0]["sweep_id"] == metas[1]["sweep_id"]
    for folder, meta in zip(folders, metas, strict=True):
        assert meta["host"]["hostname"] == meta["nodes"][0]  # the node's fingerprint
        for table, rows in local.tables.items():
            header, mine = read_table(folder / table)
            assert header == local.headers[table], table
            assert len(mine) == len(rows), table
        _, trials = read_table(folder / "trials.csv")
        assert [t["status"] for t in trials] == ["ok", "ok"]
        assert [t["steady_epoch_s"] for t in trials] == [t["steady_epoch_s"] for t in local.trials]
        assert all(t["node"] for t in trials)
        assert not (folder / "tmp").exists()
    status = bench("status", str(folders[0]), cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert "0 queued, 0 running, 2 done, 0 failed" in status.stdout


def _wait_for(what, timeout_s: float = 90.0):
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        found = what()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def _running_job(out: Path, trial_index: int) -> tuple[Path, dict]:
    """The run folder and started marker of the job of the trial at `trial_index`, once that
    trial's child has begun its epochs."""

    def find():
        for run in runs_in(out) if out.exists() else []:
            jobs = sorted((run / "jobs").glob("*.json"))
            if len(jobs) <= trial_index:
                continue
            tid = jobs[trial_index].stem
            marker = run / "parts" / f"{tid}.started.json"
            events = [*(run / "tmp").glob(f"{tid}.*/events.jsonl")]  # this attempt's scratch
            if marker.exists() and events and '"epoch"' in events[0].read_text():
                return run, json.loads(marker.read_text())
        return None

    return _wait_for(find)


def _start(tmp_path: Path, cfg: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    argv = [sys.executable, "-m", "bench", "run", "--config", str(cfg), "--out",
            str(tmp_path / "out"), "--no-report", "-q"]  # fmt: skip
    return subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip


def test_resume_after_a_killed_job_resubmits_only_that_trial(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, fake=SLOW)
    proc = _start(tmp_path, cfg)
    run, marker = _running_job(tmp_path / "out", 0)
    job = psutil.Process(marker["pid"])
    victims = [job, *job.children(recursive=True)]
    for p in victims:  # the job and its trial, as a node failure would take them
        p.kill()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, out + err
    _, trials = read_table(run / "trials.csv")
    assert [t["status"] for t in trials] == ["failed", "ok"]
    assert "ended without a result" in trials[0]["error"]
    jobs_before = json.loads((run / "launcher.json").read_text())["jobs"]

    done = bench("run", "--resume", str(run), "--no-report", cwd=tmp_path)
    assert done.returncode == 0, done.stderr + done.stdout
    _, trials = read_table(run / "trials.csv")
    assert sorted(t["status"] for t in trials) == ["ok", "ok"]
    assert len({t["trial_id"] for t in trials}) == 2
    meta = json.loads((run / "run.json").read_text())
    assert meta["resumed"][-1]["trials"] == 1
    jobs_after = json.loads((run / "launcher.json").read_text())["jobs"]
    first, second = sorted(jobs_before)
    assert jobs_after[first] != jobs_before[first] and jobs_after[second] == jobs_before[second]


def test_a_preempted_job_is_requeued_and_its_trial_rerun_whole(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, fake=SLOW, batch_sizes="[16]")
    proc = _start(tmp_path, cfg)
    run, marker = _running_job(tmp_path / "out", 0)
    os.kill(marker["pid"], signal.SIGUSR2)  # what submitit's job handler gets on preemption
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, out + err
    _, trials = read_table(run / "trials.csv")
    tid = next(p.stem for p in (run / "jobs").glob("*.json"))
    assert [(t["trial_id"], t["status"]) for t in trials] == [(f"{tid}-a0", "preempted"),
                                                              (tid, "ok")]  # fmt: skip
    assert "requeued to run whole" in trials[0]["error"]
    _, epochs = read_table(run / "epochs.csv")
    assert [e["epoch"] for e in epochs if e["trial_id"] == tid] == ["1", "2", "3", "4"]
    assert (run / "logs" / f"{tid}-a0.log").exists() and (run / "logs" / f"{tid}.log").exists()


def test_detach_needs_slurm(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    done = bench("run", "--config", str(cfg), "--detach", "--out", str(tmp_path / "o"),
                 cwd=tmp_path)  # fmt: skip
    assert done.returncode == 2 and "--detach needs --launcher slurm" in done.stderr


# --- Slurm parameters (nothing submitted) --------------------------------------------------------

SLURM = """
[sweep]
frameworks = ["fake"]
models = ["seed_ffnn"]
devices = ["cuda"]
repeats = 1
[launcher]
kind = "slurm"
partitions = ["a100", "h100"]
gpus_per_node = 1
cpus_per_task = 8
mem_gb = 32
time_min = 90
array_parallelism = 4
additional = { account = "lab", qos = "high", "requeue" = true }
"""


@pytest.fixture
def slurm_config(tmp_path: Path):
    path = tmp_path / "slurm.toml"
    path.write_text(SLURM, encoding="utf-8")
    return load(path)


def test_slurm_parameters_for_a_sample_launcher(slurm_config) -> None:
    params = slurm_parameters(slurm_config.launcher, "h100")
    assert params == {
        "name": "bench-h100",
        "nodes": 1,
        "tasks_per_node": 1,
        "timeout_min": 90,
        "slurm_array_parallelism": 4,
        "slurm_signal_delay_s": 90,
        "slurm_partition": "h100",
        "gpus_per_node": 1,
        "cpus_per_task": 8,
        "mem_gb": 32.0,
        "slurm_exclusive": True,
        "slurm_additional_parameters": {"account": "lab", "qos": "high", "requeue": True},
    }


def test_submitit_turns_them_into_these_sbatch_lines(slurm_config, tmp_path, monkeypatch) -> None:
    from submitit.slurm import slurm

    monkeypatch.setattr(slurm.SlurmExecutor, "affinity", classmethod(lambda cls: 2))
    executor = submitit.AutoExecutor(folder=tmp_path / "sub", cluster="slurm")
    executor.update_parameters(**slurm_parameters(slurm_config.launcher, "a100"))
    text = executor._executor._make_submission_file_text("python -m x", "uid")
    for line in ("--partition=a100", "--exclusive", "--gpus-per-node=1", "--cpus-per-task=8",
                 "--mem=32GB", "--time=90", "--account=lab", "--qos=high", "--requeue",
                 "--nodes=1", "--ntasks-per-node=1", "--job-name=bench-a100",
                 "--signal=USR2@90"):  # fmt: skip
        assert f"#SBATCH {line}\n" in text + "\n", line


def test_plain_sbatch_script_runs_the_sweep_on_one_exclusive_node(slurm_config) -> None:
    flags = ["--epochs=3", "--set", "train.samples=64"]
    launcher = slurm_config.launcher
    script = sbatch_script(launcher, "a100", Path("b.toml"), flags, Path("res"), "x", 3)
    assert script.startswith("#!/bin/bash\n")
    for line in ("--partition=a100", "--exclusive", "--gpus-per-node=1", "--time=270",
                 "--mem=32G", "--account=lab", "--requeue"):  # fmt: skip
        assert f"#SBATCH {line}\n" in script
    assert "-m bench run --config" in script and "--launcher local" in script
    assert "--epochs=3 --set train.samples=64 --launcher local" in script, "the user's flags"
    assert script.rstrip().endswith("--name x-a100"), "the run's name and the partition"


def test_slurm_dry_run_plans_cuda0_of_each_job(slurm_config, tmp_path) -> None:
    cfg = tmp_path / "slurm.toml"
    done = bench("run", "--config", str(cfg), "--dry-run", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "on cuda:0 ((read on the node))" in done.stdout
    assert "partition h100: 1 jobs" in done.stdout and "#SBATCH --partition=h100" in done.stdout


def test_slurm_refuses_a_folder_other_nodes_cannot_see(tmp_path: Path) -> None:
    """By file system, not by path: memory is never shared; a local disk is where this machine
    is the partitions' only node (a one-node Slurm), and is not where other nodes run the jobs."""
    import socket

    here = socket.gethostname().split(".")[0]
    mounts = "/dev/sda1 / ext4 rw 0 0\ntmpfs /dev/shm tmpfs rw 0 0\nsrv:/home /home nfs4 rw 0 0\n"
    for nodes in (None, {here}, {"gpu1", "gpu2"}):
        check_folder("[output] dir", tmp_path / "home", True, "/dev/sda1 /tmp nfs rw 0 0", nodes)
    check_folder("[output] dir", tmp_path / "r", True, mounts, {here})  # /tmp on the root disk
    check_folder("[output] dir", tmp_path / "r", True, mounts, None)  # sinfo did not answer
    with pytest.raises(UsageError, match=r"on a disk of this machine \(ext4\).*other nodes"):
        check_folder("[output] dir", tmp_path / "r", True, mounts, {here, "gpu1"})
    with pytest.raises(UsageError, match=r"in this machine's memory \(tmpfs\)"):
        check_folder("[launcher] folder", Path("/dev/shm/x"), True, mounts, {here})
    proc = Path("/proc/mounts")
    if not proc.exists() or _mount_type(Path("/dev/shm"), proc.read_text()) != "tmpfs":
        return  # the command line's check needs a tmpfs here
    cfg = tmp_path / "slurm.toml"
    cfg.write_text(SLURM, encoding="utf-8")
    done = bench("run", "--config", str(cfg), "--out", "/dev/shm/bench-res", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "[output] dir" in done.stderr and "in this machine's memory" in done.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_an_unwritable_folder_is_refused(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(UsageError, match="cannot write there"):
        check_folder("[launcher] folder", locked / "sub", shared=False)


def test_mount_type_takes_the_longest_mount_point() -> None:
    mounts = (
        "/dev/sda1 / ext4 rw 0 0\nserver:/home /home nfs4 rw 0 0\ntmpfs /home/x/t tmpfs rw 0 0\n"
    )
    assert _mount_type(Path("/home/alice/results"), mounts) == "nfs4"
    assert _mount_type(Path("/home/x/t/r"), mounts) == "tmpfs"
    assert _mount_type(Path("/opt"), mounts) == "ext4"
    with pytest.raises(UsageError, match=r"memory \(tmpfs\)"):
        check_folder("[launcher] folder", Path("/home/x/t"), shared=True, mounts=mounts)


def test_a_job_fills_its_warm_cache_once_untimed(tmp_path: Path) -> None:
    """Each configuration's first job fills `<out>/.cache/<key>` before its timed trial (the
    fill is in run.json, with the node, never in the tables); a later sweep finds it filled."""
    cfg = write_config(tmp_path)
    args = ("run", "--config", str(cfg), "--caches", "warm", "--no-report")
    done = bench(*args, "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr + done.stdout
    (run,) = runs_in(tmp_path / "out")
    fills = json.loads((run / "run.json").read_text())["cache_fills"]
    assert sorted(f["status"] for f in fills) == ["ok", "ok"]  # one per batch size
    assert all(f["node"] for f in fills)
    filled = sorted((tmp_path / "out" / ".cache").glob("*/.filled"))
    assert sorted(p.parent.name for p in filled) == sorted(f["cache"] for f in fills)
    _, trials = read_table(run / "trials.csv")
    assert {t["status"] for t in trials} == {"ok"} and {t["cache"] for t in trials} == {"warm"}
    assert not any(t["trial_id"].startswith("fill") for t in trials)
    again = bench(*args, "--out", str(tmp_path / "out"), "--name", "again", cwd=tmp_path)
    assert again.returncode == 0, again.stderr + again.stdout
    (second,) = [p for p in runs_in(tmp_path / "out") if "again" in p.name]
    assert "cache_fills" not in json.loads((second / "run.json").read_text())


def test_a_job_runs_a_data_parallel_trial_with_its_ranks(tmp_path: Path) -> None:
    """submitit-local: the job runs the rank supervisor as a local run does; rank rows merge."""
    cfg = write_config(tmp_path, batch_sizes="[16]")
    done = bench("run", "--config", str(cfg), "--parallel", "single,data", "--world-sizes", "2",
                 "--out", str(tmp_path / "out"), "--no-report", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr + done.stdout
    (run,) = runs_in(tmp_path / "out")
    _, trials = read_table(run / "trials.csv")
    assert sorted((t["parallel"], t["world_size"], t["status"]) for t in trials) == [
        ("data", "2", "ok"), ("single", "1", "ok")
    ]  # fmt: skip
    data = next(t for t in trials if t["parallel"] == "data")
    _, ranks = read_table(run / "ranks.csv")
    assert {r["trial_id"] for r in ranks} == {data["trial_id"]}
    assert {r["rank"] for r in ranks} == {"0", "1"}


def test_slurm_plans_data_parallel_ranks_on_the_allocations_gpus(tmp_path: Path) -> None:
    """With gpus_per_node = 4 a data-parallel trial's ranks are cuda:0–3 of the job; single
    trials stay on cuda:0, and ids run on without gaps."""
    from bench.core.cluster import cluster_trials

    path = tmp_path / "slurm.toml"
    path.write_text(SLURM.replace("gpus_per_node = 1", "gpus_per_node = 4"), encoding="utf-8")
    trials = cluster_trials(load(path, {"sweep": {"parallel": ["single", "data"]}}, ["--set"]))
    assert [(t.device, t.parallel, t.world_size) for t in trials] == [
        ("cuda:0", "single", 1), ("cuda:0", "data", 4)
    ]  # fmt: skip
    assert [t.order for t in trials] == [0, 1] and trials[1].trial_id.startswith("001-")
    assert len(trials[1].rank_gpus) == 4 and not trials[1].skip


def test_on_the_node_the_ranks_get_its_gpus_uuids(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from bench.contract.trial import Trial
    from bench.core.cluster import cluster_trials
    from bench.hardware import devices
    from bench.launchers.submitit_job import ON_NODE, on_node

    path = tmp_path / "slurm.toml"
    path.write_text(SLURM.replace("gpus_per_node = 1", "gpus_per_node = 2"), encoding="utf-8")
    (planned,) = cluster_trials(load(path, {"sweep": {"parallel": ["data"]}}, ["--set"]))
    node = [devices.Device("cpu", "cpu", "EPYC", None, 0, "")] + [
        devices.Device(f"cuda:{i}", "cuda", "NVIDIA H100", 7 - i, 0, "", uuid=f"GPU-{i}")
        for i in range(2)
    ]
    monkeypatch.setattr(devices, "discover", lambda *a, **k: node)
    base = Trial.from_json(json.loads(json.dumps(planned.to_json())))  # as the job reads it
    assert base.device_name == ON_NODE
    ready = on_node(base)
    assert (ready.device_name, ready.device_uuid, ready.skip) == ("NVIDIA H100", "GPU-0", "")
    assert ready.rank_gpus == ((7, "GPU-0"), (6, "GPU-1"))
    wider = on_node(dataclasses.replace(base, rank_gpus=((0, ""), (1, ""), (2, ""))))
    assert "this node has no cuda:2" in wider.skip
    slices = [dataclasses.replace(d, label="A100 MIG 3g.40gb", uuid=f"MIG-{d.name[-1]}")
              for d in node[1:]]  # fmt: skip
    monkeypatch.setattr(devices, "discover", lambda *a, **k: slices)
    assert "cannot use a MIG slice: cuda:0 (A100 MIG 3g.40gb, MIG-0)" in on_node(base).skip


def test_a_node_without_tf32_or_bf16_records_those_trials_skipped(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Planned for any node, tf32/bf16 trials are re-judged on the node's real GPU: a V100
    (compute capability 7.0) records them `skipped` with the planner's reason; fp32 runs on."""
    from bench.core.cluster import cluster_trials
    from bench.hardware import devices
    from bench.launchers import parts
    from bench.launchers.submitit_job import TrialJob, on_node

    path = tmp_path / "slurm.toml"
    path.write_text(SLURM, encoding="utf-8")
    sweep = {"sweep": {"precisions": ["fp32", "tf32", "bf16"]}}
    planned = cluster_trials(load(path, sweep, ["--set"]))
    assert [(t.precision, t.skip) for t in planned] == [("fp32", ""), ("tf32", ""), ("bf16", "")]
    v100 = devices.Device("cuda:0", "cuda", "Tesla V100-SXM2-32GB", 3, 0, "", uuid="GPU-v",
                          compute_capability=(7, 0))  # fmt: skip
    monkeypatch.setattr(devices, "discover", lambda *a, **k: [v100])
    run = tmp_path / "run"
    for trial in planned[1:]:
        job_file = parts.trial_json(run, trial.trial_id)
        parts.write_json(job_file, trial.to_json())
        assert TrialJob(str(job_file), str(run), 0)() == "skipped"
        doc = parts.read_json(parts.part(run, trial.trial_id))
        assert doc["status"] == "skipped" and doc["trial"]["device_uuid"] == "GPU-v"
        assert "cuda:0 is a Tesla V100-SXM2-32GB" in doc["error"]
        assert "compute capability 8.0 (Ampere) or later; this GPU has 7.0" in doc["error"]
    assert on_node(planned[0]).skip == "", "fp32 runs on a V100"
    h100 = dataclasses.replace(v100, label="NVIDIA H100", compute_capability=(9, 0))
    monkeypatch.setattr(devices, "discover", lambda *a, **k: [h100])
    assert [on_node(t).skip for t in planned] == ["", "", ""]


def test_a_job_runs_the_warm_up_trials_on_its_node_first(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """[sweep] warmup in a cluster job: the local launcher's untimed warm-up trial (2 one-step
    epochs, uncompiled, one process) runs before the timed one, and the part records it."""
    from bench.launchers import caches, parts, submitit_job
    from bench.launchers.process import Outcome

    (planned,) = cluster_plan(tmp_path)  # one fake trial, planned for submitit-local
    trial = dataclasses.replace(planned, framework="torch", backend="torch", mode="compile")
    run_dir = tmp_path / "run"
    path = parts.trial_json(run_dir, trial.trial_id)
    parts.write_json(path, trial.to_json())
    ran: list = []

    def fake_run(t, work, log, *args, **kwargs):
        ran.append(t)
        return Outcome("ok", 0)

    monkeypatch.setattr(submitit_job, "launcher_for", lambda t: fake_run)  # the timed trial
    monkeypatch.setattr(caches, "launcher_for", lambda t: fake_run)  # the warm-up
    assert submitit_job.TrialJob(str(path), str(run_dir), 600.0, warmup=1)() == "ok"
    warm, timed = ran
    assert (warm.mode, warm.epochs, warm.steps_per_epoch, warm.parallel) == (
        "eager",
        2,
        1,
        "single",
    )
    assert warm.trial_id.startswith("warmup0-torch") and timed.trial_id == trial.trial_id
    doc = parts.read_json(parts.part(run_dir, trial.trial_id))
    assert [(w["framework"], w["status"]) for w in doc["warmup"]] == [("torch", "ok")]


def cluster_plan(tmp_path: Path) -> list:
    from bench.core.cluster import cluster_trials

    return cluster_trials(load(write_config(tmp_path, batch_sizes="[16]")))
