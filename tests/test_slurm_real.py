"""`bench run --launcher slurm` against a real Slurm: the single-node Slurm 22.05 of Debian's
packages that `scripts/slurm-local` starts (no accounting: `sacct` has nothing to say, as at many
sites), real `sbatch` job arrays, real `scancel`, `scontrol requeue`, signals and a real
preemption by a job of the higher-priority `urgent` partition.

The `slurm` fixture uses that Slurm when it runs, else starts it (root on Debian: CI) and stops
it after this file — unless another test session still uses it — and skips with the reason
elsewhere. It never submits to a Slurm that `scripts/slurm-local` did not configure. Everything
here is in one file, so that `--dist loadfile` gives it to one worker.

The trials are the scripted `fake` runner's (sleeping for real, so that a job can be signalled
mid-trial), and one tiny torch trial. The fault scenarios run side by side (`faults`): while the
requeued jobs of one sweep wait out Slurm's ~120 s before a requeued job may start again, a
second sweep's jobs are cancelled and killed, and that run resumed. Waits are bounded; a parent
that would wait forever is killed, and the tests say so.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.test_fake_e2e import ROOT, read_table

pytest.importorskip("submitit")
pytestmark = pytest.mark.slurm

SCRIPT = ROOT / "scripts" / "slurm-local"
STATE = Path("/run/bench-slurm-local")
CONF = Path("/etc/slurm/slurm.conf")
MARK = "# written by bench scripts/slurm-local"
LOCK = Path(tempfile.gettempdir()) / "bench-slurm-local.lock"

CONFIG = """
[sweep]
frameworks = {frameworks}
models = ["seed_ffnn"]
devices = ["cpu"]
batch_sizes = {batch_sizes}
threads = [1]
repeats = 1

[train]
epochs = 4
samples = 128

[fake]
phase_s = 0.1
first_step_s = 0.1
epoch_s = [{epoch_s}]
sleep = true

[launcher]
kind = "slurm"
partitions = ["debug"]
exclusive = false
cpus_per_task = 1
mem_gb = 1
time_min = 10
poll_s = 2
lost_after_s = 5
{launcher}
"""


# --- the Slurm ---------------------------------------------------------------------------------


def _ours() -> bool:
    """A Slurm configured by scripts/slurm-local answers, its `debug` partition up."""
    try:
        if MARK not in CONF.read_text(encoding="utf-8").splitlines():
            return False
        done = subprocess.run(["sinfo", "-h", "-p", "debug", "-o", "%a"], capture_output=True,
                              text=True, timeout=30)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and done.stdout.strip() == "up"


def _why_not() -> str:
    if os.geteuid() != 0:
        return "a real Slurm: scripts/slurm-local's is not running, and starting it needs root"
    if not Path("/etc/debian_version").exists() or shutil.which("apt-get") is None:
        return "a real Slurm: scripts/slurm-local installs Debian's packages; this is not Debian"
    if CONF.exists() and MARK not in CONF.read_text(encoding="utf-8").splitlines():
        return f"a real Slurm: {CONF} is this machine's own; tests submit only to slurm-local's"
    return ""


def _script(command: str) -> None:
    done = subprocess.run([str(SCRIPT), command], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"scripts/slurm-local {command}: {done.stdout}{done.stderr}"


@pytest.fixture(scope="module")
def slurm() -> Iterator[None]:
    """scripts/slurm-local's Slurm, running for this file (see the module docstring)."""
    with open(LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _ours():
            if why := _why_not():
                pytest.skip(why)
            _script("start")
            (STATE / "by-tests").touch()
        me = STATE / "users" / str(os.getpid())
        with_users = os.access(STATE, os.W_OK)
        if with_users:
            me.parent.mkdir(exist_ok=True)
            me.touch()
    yield
    with open(LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not with_users:
            return
        me.unlink(missing_ok=True)
        others = [p for p in me.parent.iterdir() if psutil.pid_exists(int(p.name))]
        if not others and (STATE / "by-tests").exists():
            _script("stop")


# --- sweeps ------------------------------------------------------------------------------------


def write_config(folder: Path, frameworks: str = '["fake"]', batch_sizes: str = "[16, 32]",
                 epoch_s: str = "1.0", launcher: str = "") -> Path:  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "slurm.toml"
    text = CONFIG.format(frameworks=frameworks, batch_sizes=batch_sizes, epoch_s=epoch_s,
                         launcher=launcher)  # fmt: skip
    path.write_text(text, encoding="utf-8")
    return path


def env() -> dict[str, str]:
    """The parent's environment: sbatch passes it on, so the jobs import this repository."""
    return dict(os.environ, PYTHONPATH=str(ROOT))


def bench(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=cwd, env=env(),
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip


@dataclass
class Sweep:
    """A `bench run` in the background; its output in a file."""

    proc: subprocess.Popen
    out: Path
    log: Path

    @classmethod
    def start(cls, folder: Path, *args: str) -> Sweep:
        log = folder / f"bench-{time.monotonic_ns()}.log"
        argv = [sys.executable, "-m", "bench", "run", *args, "--no-report"]
        with open(log, "w") as sink:
            proc = subprocess.Popen(argv, cwd=folder, env=env(), stdout=sink,
                                    stderr=subprocess.STDOUT, text=True)  # fmt: skip
        return cls(proc, folder / "out", log)

    def finish(self, timeout: float) -> int | None:
        """Its exit code; None when it had to be killed after `timeout` seconds."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    @property
    def text(self) -> str:
        return self.log.read_text()

    @property
    def run(self) -> Path:
        (run,) = [p for p in self.out.iterdir() if (p / "run.json").exists()]
        return run


def wait_for(what: Callable[[], Any], timeout_s: float = 120.0, why: str = "") -> Any:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if found := what():
            return found
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting: {why}")


def trial_ids(run: Path) -> list[str]:
    return sorted(p.stem for p in (run / "jobs").glob("*.json"))


def job_ids(run: Path) -> dict[str, str]:
    return json.loads((run / "launcher.json").read_text())["jobs"]


def running(sweep: Sweep, index: int) -> tuple[str, str, dict]:
    """(trial id, Slurm job id, started marker) of the sweep's trial `index`, once its job's
    trial has begun its epochs."""

    def find():
        try:
            run = sweep.run
        except (OSError, ValueError):  # not made yet
            return None
        if not (run / "launcher.json").exists() or len(job_ids(run)) <= index:
            return None
        tid = trial_ids(run)[index]
        marker = run / "parts" / f"{tid}.started.json"
        events = [*(run / "tmp").glob(f"{tid}.*/events.jsonl")]
        if marker.exists() and events and '"epoch"' in events[0].read_text():
            return tid, job_ids(run)[tid], json.loads(marker.read_text())
        return None

    return wait_for(find, why=f"trial {index} running\n{sweep.text}")


def statuses(run: Path) -> dict[str, tuple[str, str]]:
    _, rows = read_table(run / "trials.csv")
    return {row["trial_id"]: (row["status"], row["error"]) for row in rows}


def slurm_cmd(*argv: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"{argv}: {done.stderr}"


# --- the happy path ----------------------------------------------------------------------------


def test_a_sweep_of_fake_and_torch_trials_equals_the_local_launchers(slurm, tmp_path) -> None:
    """One job per trial in a real job array: the same tables (columns) and keys (trial ids,
    epochs, phases) as the local launcher's run of the same sweep, every trial ok, node named."""
    cfg = write_config(tmp_path, frameworks='["fake", "torch"]', batch_sizes="[32]")
    done = bench("run", "--config", str(cfg), "--out", str(tmp_path / "out"), "--no-report",
                 cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    local = bench("run", "--config", str(cfg), "--launcher", "local", "--out",
                  str(tmp_path / "local"), "--no-report", cwd=tmp_path)  # fmt: skip
    assert local.returncode == 0, local.stdout + local.stderr
    (mine,) = [p for p in (tmp_path / "out").iterdir() if p.name != "submitit"]
    (theirs,) = (tmp_path / "local").iterdir()
    assert mine.name.endswith("-debug")
    keys = {"trials.csv": ("trial_id",), "epochs.csv": ("trial_id", "epoch"),
            "phases.csv": ("trial_id", "phase")}  # fmt: skip
    for table in ("trials.csv", "epochs.csv", "phases.csv", "samples.csv"):
        header, rows = read_table(mine / table)
        local_header, local_rows = read_table(theirs / table)
        assert header == local_header, table
        key = keys.get(table, ("trial_id",))
        assert {tuple(r[k] for k in key) for r in rows} == {
            tuple(r[k] for k in key) for r in local_rows
        }, table
    _, trials = read_table(mine / "trials.csv")
    assert [(t["framework"], t["status"]) for t in trials] == [("fake", "ok"), ("torch", "ok")]
    assert {t["node"] for t in trials} == {socket.gethostname()}
    assert "Bypassing sacct" not in done.stdout + done.stderr


def test_detach_then_status_then_resume(slurm, tmp_path) -> None:
    """--detach submits and exits; `bench status` sees the jobs; `--resume` (stopped once by
    Ctrl-C, then run to the end) waits for them and merges every trial, counting them right."""
    cfg = write_config(tmp_path, epoch_s="3.0")
    done = bench("run", "--config", str(cfg), "--out", str(tmp_path / "out"), "--detach",
                 cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 job(s)" in done.stdout, done.stdout
    (run,) = [p for p in (tmp_path / "out").iterdir() if p.name != "submitit"]
    status = bench("status", str(run), cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    counts = re.search(r"(\d) queued, (\d) running, (\d) done, (\d) failed", status.stdout)
    assert counts and int(counts[1]) + int(counts[2]) + int(counts[3]) == 2, status.stdout
    assert counts[4] == "0", status.stdout

    stopped = Sweep.start(tmp_path, "--resume", str(run))
    wait_for(lambda: "bench: 2 trials" in stopped.text, 60, stopped.text)
    stopped.proc.send_signal(signal.SIGINT)
    assert stopped.finish(60) == 130, stopped.text
    assert "queued or running in Slurm" in stopped.text or "[2/2]" in stopped.text, stopped.text

    resumed = bench("run", "--resume", str(run), "--no-report", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert [s for s, _ in statuses(run).values()] == ["ok", "ok"]
    output = resumed.stdout + resumed.stderr
    for wrong in ("/0]", "bench: 0 trials", "No submission happened", "Bypassing sacct"):
        assert wrong not in output, output
    status = bench("status", str(run), cwd=tmp_path)
    assert "0 queued, 0 running, 2 done, 0 failed" in status.stdout, status.stdout


def test_the_dry_runs_job_script_is_accepted_by_sbatch_and_names_the_run_alike(
    slurm, tmp_path
) -> None:
    """`sbatch --test-only` accepts the dry run's script; submitted for real, it runs the sweep
    on the node into `<stamp>-<name>-<partition>`, as the submitit path names its run."""
    cfg = write_config(tmp_path)
    out = tmp_path / "plain"
    done = bench("run", "--config", str(cfg), "--dry-run", "--out", str(out), "--name", "t",
                 cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    text = done.stdout.split("this job script runs the same sweep on one node:\n", 1)[1]
    script = tmp_path / "job.sh"
    script.write_text("\n".join(line[4:] for line in text.splitlines() if line.startswith("    ")))
    test = subprocess.run(["sbatch", "--test-only", str(script)], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)  # fmt: skip
    assert test.returncode == 0 and "to start at" in test.stderr, test.stderr
    job = subprocess.run(["sbatch", "--parsable", "--output", str(tmp_path / "job.out"),
                          str(script)], capture_output=True, text=True, timeout=60, cwd=tmp_path,
                         env=env())  # fmt: skip
    assert job.returncode == 0, job.stderr
    job_id = job.stdout.strip().split(";")[0]

    def ended() -> str:
        done = subprocess.run(["squeue", "-h", "-t", "all", "-j", job_id, "-o", "%T"],
                              capture_output=True, text=True, timeout=60)  # fmt: skip
        state = done.stdout.strip()
        return state if state and state not in ("PENDING", "RUNNING", "COMPLETING") else ""

    state = wait_for(ended, 300, f"the job script's job {job_id}")
    assert state == "COMPLETED", (tmp_path / "job.out").read_text()
    (run,) = out.iterdir()
    assert run.name.endswith("-t-debug"), run.name
    assert [s for s, _ in statuses(run).values()] == ["ok", "ok"]


# --- faults ------------------------------------------------------------------------------------


@dataclass
class Faults:
    """What became of the fault scenarios (see `faults`)."""

    requeue: Sweep
    requeue_code: int | None
    usr2: str  # trial ids
    requeued: str
    preempted: str
    cancel: Sweep
    cancel_code: int | None
    cancelled: str
    killed: str
    pending: str
    untouched: str
    jobs_before: dict[str, str]
    resume: subprocess.CompletedProcess | None
    after_cancel: dict[str, tuple[str, str]]


def _requeues(base: Path) -> tuple[Sweep, str, str, str]:
    """Three trials, two at a time: the first job gets `scancel --signal=USR2` (a preemption as
    submitit sees it), the second `scontrol requeue` (SIGTERM), and the third, once it runs,
    is preempted by a job of the higher-priority `urgent` partition (PreemptMode=REQUEUE)."""
    cfg = write_config(base, batch_sizes="[16, 32, 64]", epoch_s="4.0")
    sweep = Sweep.start(base, "--config", str(cfg), "--out", str(base / "out"))
    usr2, usr2_job, _ = running(sweep, 0)
    requeued, requeued_job, _ = running(sweep, 1)
    slurm_cmd("scancel", "--signal=USR2", usr2_job)
    slurm_cmd("scontrol", "requeue", requeued_job)
    preempted, _, _ = running(sweep, 2)
    urgent = subprocess.run(["sbatch", "--parsable", "-p", "urgent", "-c", str(os.cpu_count()),
                             "--mem=100M", "-o", "/dev/null", "--wrap", "sleep 1"],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert urgent.returncode == 0, urgent.stderr

    def urgent_ended() -> bool:
        done = subprocess.run(["squeue", "-h", "-t", "all", "-j", urgent.stdout.strip(), "-o",
                               "%T"], capture_output=True, text=True, timeout=60)  # fmt: skip
        return done.stdout.strip() in ("COMPLETED", "FAILED", "CANCELLED")

    wait_for(urgent_ended, 120, "the urgent partition's job")
    return sweep, usr2, requeued, preempted


@pytest.fixture(scope="module")
def faults(slurm, tmp_path_factory) -> Faults:
    """Two sweeps. `requeue` (time_min = 10: `_requeues`). Meanwhile, while its requeued jobs
    wait out Slurm's ~120 s, `cancel` (four trials, two at a time): its pending third task is
    cancelled, its first running job cancelled, its second job's Python killed; the parent must
    end on its own, and `--resume` finish the run."""
    base = tmp_path_factory.mktemp("faults")
    requeue, usr2, requeued, preempted = _requeues(base / "requeue")
    cfg = write_config(base / "cancel", batch_sizes="[8, 16, 32, 64]", epoch_s="4.0",
                       launcher="array_parallelism = 2")  # fmt: skip
    cancel = Sweep.start(base / "cancel", "--config", str(cfg), "--out", str(base / "cancel/out"))
    cancelled, cancelled_job, _ = running(cancel, 0)
    killed, _, marker = running(cancel, 1)
    tids = trial_ids(cancel.run)
    jobs_before = job_ids(cancel.run)
    pending, untouched = tids[2], tids[3]
    slurm_cmd("scancel", jobs_before[pending])  # still pending: two tasks at a time
    slurm_cmd("scancel", cancelled_job)
    job = psutil.Process(marker["pid"])  # the job's Python (submitit), and its trial
    for process in [job, *job.children(recursive=True)]:
        process.kill()
    cancel_code = cancel.finish(240)
    after_cancel = statuses(cancel.run)
    resume = None
    if cancel_code is not None:
        resume = bench("run", "--resume", str(cancel.run), "--no-report", cwd=base / "cancel")
    requeue_code = requeue.finish(420)
    return Faults(requeue, requeue_code, usr2, requeued, preempted, cancel, cancel_code,
                  cancelled, killed, pending, untouched, jobs_before, resume,
                  after_cancel)  # fmt: skip


def test_a_usr2_preemption_with_time_min_10_is_preempted_then_rerun_ok(faults) -> None:
    """Fault 3: with time_min ≤ 10 bench took any signal for the time limit (`timeout`)."""
    assert faults.requeue_code == 0, faults.requeue.text
    found = statuses(faults.requeue.run)
    assert found[f"{faults.usr2}-a0"][0] == "preempted", found
    assert found[faults.usr2][0] == "ok", found


def test_scontrol_requeue_is_preempted_then_rerun_ok_not_failed(faults) -> None:
    """Fault 2: the SIGTERM of a requeue killed the trial's child and was recorded `failed`."""
    assert faults.requeue_code == 0, faults.requeue.text
    found = statuses(faults.requeue.run)
    status, error = found[f"{faults.requeued}-a0"]
    assert status == "preempted" and "requeued by Slurm" in error, found
    assert found[faults.requeued][0] == "ok", found
    _, epochs = read_table(faults.requeue.run / "epochs.csv")
    assert [e["epoch"] for e in epochs if e["trial_id"] == faults.requeued] == ["1", "2", "3", "4"]


def test_a_preemption_by_a_higher_priority_partition_is_preempted_then_rerun_ok(faults) -> None:
    """PreemptMode=REQUEUE: Slurm's own preemption sends SIGTERM and requeues the job."""
    assert faults.requeue_code == 0, faults.requeue.text
    found = statuses(faults.requeue.run)
    assert found[f"{faults.preempted}-a0"][0] == "preempted", found
    assert "requeued by Slurm" in found[f"{faults.preempted}-a0"][1], found
    assert found[faults.preempted][0] == "ok", found


def test_a_cancelled_running_job_fails_its_trial_as_cancelled(faults) -> None:
    """Fault 1: without accounting, submitit's UNKNOWN counted as alive: the parent waited
    forever (here: killed after 240 s, exit code None)."""
    assert faults.cancel_code == 1, faults.cancel.text
    status, error = faults.after_cancel[faults.cancelled]
    assert status == "failed" and "cancelled" in error, error


def test_a_cancelled_pending_array_task_fails_its_trial(faults) -> None:
    """Fault 1: a pending array task cancelled is in no `squeue` and no `sacct` answer."""
    assert faults.cancel_code == 1, faults.cancel.text
    status, error = faults.after_cancel[faults.pending]
    assert status == "failed" and "cancelled" in error and "Slurm no longer lists it" in error


def test_a_killed_job_python_fails_its_trial(faults) -> None:
    assert faults.cancel_code == 1, faults.cancel.text
    status, error = faults.after_cancel[faults.killed]
    assert status == "failed" and "ended without a result" in error, error
    assert faults.after_cancel[faults.untouched][0] == "ok"


def test_resume_resubmits_exactly_the_lost_trials(faults) -> None:
    assert faults.resume is not None, faults.cancel.text
    assert faults.resume.returncode == 0, faults.resume.stdout + faults.resume.stderr
    assert "3 trial(s) to submit again" in faults.resume.stdout
    assert [s for s, _ in statuses(faults.cancel.run).values()] == ["ok"] * 4
    after = job_ids(faults.cancel.run)
    changed = {tid for tid, job in after.items() if job != faults.jobs_before[tid]}
    assert changed == {faults.cancelled, faults.killed, faults.pending}


def test_no_sacct_warning_between_the_progress_lines(faults) -> None:
    """Fault 4: every poll printed submitit's "Bypassing sacct error" warning."""
    for sweep in (faults.requeue, faults.cancel):
        assert "Bypassing sacct" not in sweep.text and "[1/" in sweep.text, sweep.text
