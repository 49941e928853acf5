"""A cluster run while its jobs run, and what the scheduler says about each trial's job.

For Slurm the parent asks `squeue` itself (`bench.launchers.slurm_queue`: one call for every job
of the run, at most every `[launcher] poll_s`; `sacct` only for the jobs `squeue` no longer
lists), never submitit's watcher: submitit asks only `sacct`, which many sites do not offer, and
counts its silence (UNKNOWN) as a job still running — a job that ended without its result was
then waited for forever. Here a job is alive while Slurm lists it pending, running, requeued,
... (or while Slurm cannot be asked at all); a job that Slurm lists as ended, or no longer
knows, has ended. Its trial is lost when its result file has still not appeared
`[launcher] lost_after_s` later (a shared file system may show a node's file late): the trial's
row then says why (`bench.core.collect.lost_row`).

For `submitit-local` the job objects of this process say it, and a job of an earlier process
is alive while the process its started marker names is.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field
from typing import Any

from bench.contract.schema import TrialRow
from bench.contract.trial import Trial
from bench.core.sweep import RunFolder
from bench.launchers import parts

# Slurm job states in which the job still may run its trial ("UNKNOWN": Slurm cannot be asked).
ALIVE = {"PENDING", "RUNNING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "CONFIGURING",
         "COMPLETING", "RESIZING", "SUSPENDED", "UNKNOWN", "SIGNALING", "STAGE_OUT",
         "RESV_DEL_HOLD", "STOPPED"}  # fmt: skip
# The states in which a job is on a node (`bench status`: running, not queued).
ON_NODE = {"RUNNING", "COMPLETING", "CONFIGURING", "RESIZING", "SUSPENDED", "SIGNALING",
           "STAGE_OUT", "STOPPED"}  # fmt: skip
# What a job that ended without its result file means for its trial: (status, reason).
ENDED = {
    "NODE_FAIL": ("failed", "node failure"),
    "TIMEOUT": ("timeout", "Slurm's time limit"),
    "OUT_OF_MEMORY": ("oom", "out of memory (Slurm)"),
    "CANCELLED": ("failed", "cancelled"),
    "BOOT_FAIL": ("failed", "node boot failure"),
    "DEADLINE": ("failed", "deadline"),
    "PREEMPTED": ("failed", "preempted and not requeued"),
    "FAILED": ("failed", "the job failed; its log in the submitit folder says why"),
    "COMPLETED": ("failed", "the job completed without writing its result"),
    "": ("failed", "cancelled, or ended long ago: Slurm no longer lists it"),
}


@dataclass(frozen=True, slots=True)
class Submitted:
    """A Slurm job known only by its id (from launcher.json, submitted by an earlier process)."""

    job_id: str


@dataclass(slots=True)
class ClusterRun:
    """One partition's run folder while its jobs run: the trials, the job of each, and what
    Slurm last said about them."""

    folder: RunFolder
    kind: str  # slurm | submitit-local
    trials: dict[str, Trial]
    jobs: dict[str, Any] = field(default_factory=dict)  # trial_id → submitit Job (or None)
    merged: set[str] = field(default_factory=set)
    fresh: list[TrialRow] = field(default_factory=list)  # the trial rows this process merged
    poll_s: float = 30.0  # [launcher] poll_s
    lost_after_s: float = 60.0  # [launcher] lost_after_s
    states: dict[str, str] = field(default_factory=dict)  # trial_id → Slurm's last word
    ended_at: dict[str, float] = field(default_factory=dict)  # trial_id → first seen ended
    asked_at: float = float("-inf")  # when Slurm was last asked (time.monotonic)
    merged_mtime: dict[str, float] = field(default_factory=dict)  # trial_id → its part's mtime
    unanswered: str = ""  # why Slurm did not answer the last question ("" = it did)


def job_id(job: Any) -> str:
    return str(getattr(job, "job_id", "") or "")


def ask_slurm(run: ClusterRun, force: bool = False) -> None:
    """Refresh `run.states` from Slurm (at most every `poll_s` unless `force`) for the trials
    not yet merged; an unanswered question keeps the last answer."""
    from bench.launchers.slurm_queue import Unanswered, job_states

    now = time.monotonic()
    if run.kind != "slurm" or (not force and now - run.asked_at < run.poll_s):
        return
    ids = {tid: job_id(job) for tid, job in run.jobs.items() if tid not in run.merged}
    ids = {tid: jid for tid, jid in ids.items() if jid}
    run.asked_at = now
    try:
        states = job_states(ids.values()) if ids else {}
    except Unanswered as exc:
        run.unanswered = str(exc)
        return
    run.unanswered = ""
    run.states.update({tid: states.get(jid, "") for tid, jid in ids.items()})


def job_state(run: ClusterRun, trial_id: str) -> str:
    """The scheduler's word for a trial's job: RUNNING, PENDING, CANCELLED, ..., UNKNOWN
    (Slurm not asked yet, or not answering), or "" (no such job any more, or none)."""
    job = run.jobs.get(trial_id)
    if run.kind == "slurm":
        return run.states.get(trial_id, "UNKNOWN") if job_id(job) else ""
    if job is not None:
        state = str(job.state).split()[0].upper()
        return "RUNNING" if state in ("RUNNING", "READY") else state
    marker = parts.read_json(parts.started(run.folder.path, trial_id)) or {}
    if marker.get("node") == socket.gethostname() and _pid_alive(marker.get("pid")):
        return "RUNNING"
    return ""


def _pid_alive(pid: Any) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def ended(run: ClusterRun, trial_id: str) -> bool:
    """Whether a trial's job has ended — for Slurm, ended `lost_after_s` ago or more."""
    job = run.jobs[trial_id]
    if run.kind == "slurm":
        if job_state(run, trial_id) in ALIVE:
            run.ended_at.pop(trial_id, None)
            return False
        first = run.ended_at.setdefault(trial_id, time.monotonic())
        return time.monotonic() - first >= run.lost_after_s
    if job is None:  # a job of an earlier bench process: alive while its process is
        return job_state(run, trial_id) == ""
    return bool(job.done())


def trial_state(run: ClusterRun, trial_id: str) -> tuple[str, str]:
    """(queued | running | done | failed, detail) for `bench status`."""
    doc = parts.read_json(parts.part(run.folder.path, trial_id))
    if doc is not None:
        ok = doc["status"] in ("ok", "skipped")
        return ("done" if ok else "failed"), f"{doc['status']} on {doc['node']}"
    if run.kind == "slurm" and not job_id(run.jobs.get(trial_id)):
        return "queued", "not submitted: bench run --resume submits it"
    state = job_state(run, trial_id)
    marker = parts.read_json(parts.started(run.folder.path, trial_id))
    if state in ALIVE:
        if marker is not None and (state in ON_NODE or state == "UNKNOWN"):
            return "running", f"on {marker['node']}, attempt {marker['attempt'] + 1}"
        again = ", requeued" if marker is not None else ""
        return "queued", (state.lower() if state != "UNKNOWN" else "submitted") + again
    why = ENDED.get(state, ("failed", f"job state {state}"))[1] if run.kind == "slurm" else ""
    return "failed", f"job ended ({why or state or 'no longer running'}) without a result"
