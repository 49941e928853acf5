"""What bench makes of Slurm's answers, without a Slurm: `squeue` and `sacct` are small scripts
on PATH that print what the real ones print (their output formats, exit codes and error lines
as Slurm 22.05 writes them), and the `submitit-local` launcher runs the job-side rules for real.

The real thing is `tests/test_slurm_real.py`; these run everywhere.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import time
from pathlib import Path

import pytest

from bench.core.jobs import ALIVE, ClusterRun, Submitted, ask_slurm, ended, job_state, trial_state
from bench.core.results import RunWriter
from bench.core.sweep import RunFolder
from bench.errors import UsageError
from bench.launchers import slurm_queue
from bench.launchers.slurm import check_time, timeout_after_s
from tests.test_fake_e2e import read_table
from tests.test_launcher_submitit import _running_job, _start, runs_in, write_config

submitit = pytest.importorskip("submitit")


def fake_tool(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    path.chmod(0o755)


@pytest.fixture
def slurm_bin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder first on PATH for fake `squeue` / `sacct` / `sinfo`; each logs its arguments."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return folder


# --- squeue first, sacct for the rest, "" for what neither knows --------------------------------


def test_states_come_from_squeue_then_sacct_then_nothing(slurm_bin: Path) -> None:
    log = slurm_bin / "calls"
    fake_tool(slurm_bin, "squeue", f'echo "squeue $*" >> {log}\n'
              'printf "33_0 RUNNING\\n33_1 PENDING\\n34 CANCELLED\\n"\n')  # fmt: skip
    fake_tool(slurm_bin, "sacct", f'echo "sacct $*" >> {log}\n'
              'printf "33_3|TIMEOUT\\n33_[5-6]|PENDING\\n"\n')  # fmt: skip
    found = slurm_queue.job_states(["33_0", "33_1", "33_2", "33_3", "34"])
    assert found == {"33_0": "RUNNING", "33_1": "PENDING", "33_2": "", "33_3": "TIMEOUT",
                     "34": "CANCELLED"}  # fmt: skip
    squeue, sacct = log.read_text().splitlines()
    assert squeue == "squeue -h -r -t all -j 33,34 -o %i %T"  # one call, arrays by their id
    assert sacct.startswith("sacct -n -P -X -j 33_2,33_3 ")  # only what squeue did not list


def test_without_accounting_a_job_squeue_forgot_has_ended(slurm_bin: Path) -> None:
    fake_tool(slurm_bin, "squeue", 'echo "slurm_load_jobs error: Invalid job id specified" >&2\n'
              "exit 1\n")  # fmt: skip
    fake_tool(slurm_bin, "sacct", 'echo "Slurm accounting storage is disabled" >&2\nexit 1\n')
    assert slurm_queue.job_states(["40", "41_2"]) == {"40": "", "41_2": ""}


def test_a_squeue_that_cannot_reach_the_controller_concludes_nothing(slurm_bin: Path) -> None:
    fake_tool(slurm_bin, "squeue", 'echo "slurm_load_jobs error: Unable to contact slurm '
              'controller (connect failure)" >&2\nexit 1\n')  # fmt: skip
    with pytest.raises(slurm_queue.Unanswered, match="Unable to contact slurm controller"):
        slurm_queue.job_states(["40"])
    fake_tool(slurm_bin, "sinfo", "exit 1\n")
    assert slurm_queue.partition_nodes(["gpu"]) is None


def test_sinfo_names_the_partitions_nodes(slurm_bin: Path) -> None:
    fake_tool(slurm_bin, "sinfo", 'echo "$*" > ' + str(slurm_bin / "args") +
              '\nprintf "gpu1.cluster\\ngpu2\\n"\n')  # fmt: skip
    assert slurm_queue.partition_nodes(["a100", "h100"]) == {"gpu1", "gpu2"}
    assert (slurm_bin / "args").read_text().split() == ["-h", "-N", "-o", "%N", "-p", "a100,h100"]


def _run(tmp_path: Path, lost_after_s: float = 0.0) -> ClusterRun:
    folder = RunFolder("r", tmp_path, RunWriter(tmp_path), {})
    run = ClusterRun(folder, "slurm", {}, poll_s=1000.0, lost_after_s=lost_after_s)
    run.jobs = {"t0": Submitted("50_0"), "t1": Submitted("50_1"), "t2": None}
    return run


def test_a_job_is_lost_only_after_the_grace_period(slurm_bin: Path, tmp_path: Path) -> None:
    fake_tool(slurm_bin, "squeue", 'printf "50_0 PENDING\\n"\n')
    fake_tool(slurm_bin, "sacct", "exit 1\n")
    run = _run(tmp_path, lost_after_s=0.3)
    assert job_state(run, "t0") == "UNKNOWN" and not ended(run, "t0")  # not asked yet: alive
    ask_slurm(run)
    assert job_state(run, "t0") == "PENDING" and not ended(run, "t0")
    assert job_state(run, "t1") == "" and not ended(run, "t1")  # gone: the grace period starts
    time.sleep(0.4)
    assert ended(run, "t1")
    assert job_state(run, "t2") == "" and "UNKNOWN" in ALIVE  # never submitted: no job
    assert trial_state(run, "t2") == ("queued", "not submitted: bench run --resume submits it")
    assert (
        trial_state(run, "t1")[0] == "failed" and "no longer lists it" in trial_state(run, "t1")[1]
    )


def test_an_unanswered_question_keeps_the_last_answer(slurm_bin: Path, tmp_path: Path) -> None:
    fake_tool(slurm_bin, "squeue", 'printf "50_0 RUNNING\\n50_1 RUNNING\\n"\n')
    run = _run(tmp_path)
    ask_slurm(run)
    fake_tool(slurm_bin, "squeue", 'echo "Unable to contact slurm controller" >&2\nexit 1\n')
    ask_slurm(run, force=True)
    assert job_state(run, "t0") == job_state(run, "t1") == "RUNNING"
    assert run.unanswered == "squeue: Unable to contact slurm controller"
    assert not ended(run, "t0")


# --- time_min against the signal's timing -------------------------------------------------------


def test_time_min_must_leave_room_before_the_time_limits_signal() -> None:
    assert timeout_after_s(10 * 60) == 420  # 600 − 90 (the signal) − 90 (its slack)
    check_time(4, "x.toml")
    with pytest.raises(UsageError, match="time_min = 3 is too short.*at least 4"):
        check_time(3, "x.toml")


def test_the_dry_run_refuses_a_time_min_too_short(tmp_path: Path) -> None:
    from tests.test_fake_e2e import bench

    cfg = write_config(tmp_path, launcher="time_min = 2")
    done = bench("run", "--config", str(cfg), "--dry-run", cwd=tmp_path)
    assert done.returncode == 2 and "time_min = 2 is too short" in done.stderr, done.stderr


def test_a_preemption_with_time_min_10_is_a_preemption_not_a_timeout(tmp_path: Path) -> None:
    """submitit-local, time_min = 10: USR2 a few seconds into the job is a preemption (it took
    any signal for the time limit once time_min ≤ 10: `min(0.8·T, T − 600)` is 0)."""
    cfg = write_config(tmp_path, fake="phase_s = 0.1\nfirst_step_s = 0.1\nepoch_s = [1.0]\n"
                       "sleep = true\n", launcher="time_min = 10", batch_sizes="[16]")  # fmt: skip
    proc = _start(tmp_path, cfg)
    run, marker = _running_job(tmp_path / "out", 0)
    os.kill(marker["pid"], signal.SIGUSR2)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, out + err
    _, trials = read_table(run / "trials.csv")
    assert [t["status"] for t in trials] == ["preempted", "ok"], trials


# --- exit codes and what is said ---------------------------------------------------------------


def test_resume_of_a_run_with_a_failed_trial_and_nothing_to_do_exits_1(tmp_path: Path) -> None:
    from tests.test_fake_e2e import bench

    cfg = write_config(tmp_path, fake='epoch_s = [1.0]\nfail = "raise"\n', batch_sizes="[16]")
    done = bench("run", "--config", str(cfg), "--out", str(tmp_path / "out"), "--no-report",
                 cwd=tmp_path)  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    (run,) = runs_in(tmp_path / "out")
    again = bench("run", "--resume", str(run), "--no-report", cwd=tmp_path)
    said = " ".join(again.stdout.split())  # the console wraps a long folder's line
    assert said.startswith("nothing to resume") and "(1 trials: 1 failed)" in said, said
    assert again.returncode == 1, again.stdout + again.stderr


def test_after_ctrl_c_it_counts_only_jobs_slurm_holds(tmp_path: Path) -> None:
    from bench.cli.launch import _left_running

    run = _run(tmp_path)
    run.jobs = {"t0": Submitted("50_0"), "t1": Submitted("50_1")}
    run.merged = {"t1"}
    assert _left_running(run).startswith("1 job(s) of")
    run.jobs = {}
    assert _left_running(run).startswith(f"no job of {tmp_path} is queued or running")


def test_a_part_newer_than_its_row_replaces_it(tmp_path: Path) -> None:
    """A trial recorded lost whose job then wrote its part (a requeued job's rerun) gets its
    row replaced on --resume, without running again."""
    from tests.test_fake_e2e import bench

    cfg = write_config(tmp_path, batch_sizes="[16]")
    done = bench("run", "--config", str(cfg), "--out", str(tmp_path / "out"), "--no-report",
                 cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    (run,) = runs_in(tmp_path / "out")
    (part,) = [p for p in (run / "parts").glob("*.json") if "." not in p.stem]
    doc = json.loads(part.read_text())
    _, rows = read_table(run / "trials.csv")
    header, _ = read_table(run / "trials.csv")
    with open(
        run / "trials.csv", "w", newline="", encoding="utf-8"
    ) as f:  # as an old bench left it
        writer = csv.DictWriter(f, header)
        writer.writeheader()
        writer.writerows([{**rows[0], "status": "failed", "error": "job ended (SIGTERM)"}])
    launcher = json.loads((run / "launcher.json").read_text())
    launcher.pop("merged", None)
    (run / "launcher.json").write_text(json.dumps(launcher))
    again = bench("run", "--resume", str(run), "--no-report", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    _, after = read_table(run / "trials.csv")
    assert [r["status"] for r in after] == ["ok"] and after[0]["trial_id"] == rows[0]["trial_id"]
    assert json.loads(part.read_text()) == doc  # nothing ran again
    assert json.loads((run / "launcher.json").read_text())["merged"]
