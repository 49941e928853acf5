"""Collect a cluster run: merge the parts its jobs wrote into its tables, and tell each trial's
state (queued / running / done / failed) from those parts and the scheduler's job states.

The run folder is the truth (see `bench.launchers.parts`): a trial is done when
`parts/<trial_id>.json` exists; a job that ended without writing it (node failure, killed,
cancelled, Slurm's own time or memory limit) makes the trial's row say so, and `--resume` runs it
again. A part is merged once: its trial's row is then in trials.csv.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.contract.schema import TrialRow
from bench.contract.trial import Trial
from bench.core.results import utc_now
from bench.core.sweep import RunFolder, outcome_rows
from bench.launchers import parts

# Slurm job states (sacct) in which the job still may run its trial, and what the others mean.
ALIVE = {"PENDING", "RUNNING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "CONFIGURING",
         "COMPLETING", "RESIZING", "SUSPENDED", "PREEMPTED", "UNKNOWN", "SIGNALING"}  # fmt: skip
ENDED = {
    "NODE_FAIL": ("failed", "node failure"),
    "TIMEOUT": ("timeout", "Slurm's time limit"),
    "OUT_OF_MEMORY": ("oom", "out of memory (Slurm)"),
    "CANCELLED": ("failed", "cancelled"),
    "BOOT_FAIL": ("failed", "node boot failure"),
    "DEADLINE": ("failed", "deadline"),
}


@dataclass(slots=True)
class ClusterRun:
    """One partition's run folder while its jobs run: the trials, the job of each."""

    folder: RunFolder
    kind: str  # slurm | submitit-local
    trials: dict[str, Trial]
    jobs: dict[str, Any] = field(default_factory=dict)  # trial_id → submitit Job (or None)
    merged: set[str] = field(default_factory=set)
    fresh: list[TrialRow] = field(default_factory=list)  # the trial rows this process merged


def job_state(run: ClusterRun, trial_id: str) -> str:
    """The scheduler's word for a trial's job: RUNNING, PENDING, ..., or "" when unknown."""
    job = run.jobs.get(trial_id)
    if job is not None:
        state = str(job.state).split()[0].upper()
        return "RUNNING" if state in ("RUNNING", "READY") else state
    if run.kind == "slurm":
        return ""
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


def trial_state(run: ClusterRun, trial_id: str) -> tuple[str, str]:
    """(queued | running | done | failed, detail) for `bench status`."""
    doc = parts.read_json(parts.part(run.folder.path, trial_id))
    if doc is not None:
        ok = doc["status"] in ("ok", "skipped")
        return ("done" if ok else "failed"), f"{doc['status']} on {doc['node']}"
    state = job_state(run, trial_id)
    marker = parts.read_json(parts.started(run.folder.path, trial_id))
    if marker is not None and (state in ALIVE or state == "RUNNING"):
        return "running", f"on {marker['node']}, attempt {marker['attempt'] + 1}"
    if state in ALIVE or (not state and marker is None and run.kind == "slurm"):
        return "queued", state.lower() or "submitted"
    return "failed", f"job ended ({state or 'no longer running'}) without a result"


def merge_part(run: ClusterRun, trial: Trial, doc: dict[str, Any]) -> TrialRow:
    """Commit a part's rows to the run's tables; the node's host fingerprint becomes the run's
    host."""
    ran = Trial.from_json(doc["trial"])
    rows = outcome_rows(
        run.folder, ran, doc["status"], doc["exit_code"], doc["error"], doc["events"], doc["node"]
    )
    run.folder.writer.commit(rows)
    meta = run.folder.meta
    if not meta.get("host_from_node"):
        meta.update(host=doc["host"], host_from_node=True)
    nodes = set(meta.get("nodes", [])) | {doc["node"]}
    meta["nodes"] = sorted(nodes)
    if doc.get("cache_fill"):  # the job filled a warm cache before its trial (untimed)
        meta.setdefault("cache_fills", []).append({**doc["cache_fill"], "node": doc["node"]})
    for warm in doc.get("warmup", []):  # its untimed warm-up trials
        meta.setdefault("warmup", []).append({**warm, "node": doc["node"]})
    return rows["trials.csv"][0]


def lost_row(run: ClusterRun, trial: Trial, state: str) -> TrialRow:
    """The row of a trial whose job ended without writing its part."""
    status, why = ENDED.get(state, ("failed", f"job state {state or 'unknown'}"))
    job = run.jobs.get(trial.trial_id)
    job_id = getattr(job, "job_id", "") or "?"
    error = (f"job {job_id} ended without a result ({why}); see {run.folder.path}/logs and the "
             f"submitit folder; bench run --resume {run.folder.path} runs it again")  # fmt: skip
    rows = outcome_rows(run.folder, trial, status, None, error, [], "")
    run.folder.writer.commit(rows)
    return rows["trials.csv"][0]


def collect(run: ClusterRun, finished_only: bool = False) -> list[TrialRow]:
    """Merge every new part (preempted attempts too) and every lost job, each committed as it
    is merged; return the new trial rows (attempts not included). `finished_only`: leave lost
    jobs alone."""
    new: list[TrialRow] = []
    path = run.folder.path
    for tid, trial in run.trials.items():
        if tid in run.merged:
            continue
        for attempt in parts.attempts(path, tid):
            if attempt.stem not in run.merged and (doc := parts.read_json(attempt)) is not None:
                merge_part(run, trial, doc)
                run.merged.add(attempt.stem)
        doc = parts.read_json(parts.part(path, tid))
        if doc is not None:
            new.append(merge_part(run, trial, doc))
        elif not finished_only and tid in run.jobs and _ended(run, tid):
            doc = parts.read_json(parts.part(path, tid))  # written just before the job ended?
            if doc is not None:
                new.append(merge_part(run, trial, doc))
            else:
                new.append(lost_row(run, trial, job_state(run, tid)))
        else:
            continue
        run.merged.add(tid)
    run.fresh += new
    if new:
        run.folder.meta["collected_utc"] = utc_now()
        run.folder.writer.write_meta(run.folder.meta)
    return new


def _ended(run: ClusterRun, trial_id: str) -> bool:
    job = run.jobs[trial_id]
    if job is None:  # a job of an earlier bench process: alive while its process is
        return job_state(run, trial_id) == ""
    return bool(job.done())


def merged_ids(folder: RunFolder) -> set[str]:
    """Trial ids (and attempt ids) whose rows are already in the folder's trials.csv."""
    return {row.trial_id for row in folder.writer.rows["trials.csv"]}


def trials_of(run_dir: Path) -> dict[str, Trial]:
    """The planned trials of a cluster run, in plan order, from its `jobs/` folder."""
    found = [Trial.from_json(parts.read_json(p)) for p in (run_dir / parts.JOBS).glob("*.json")]
    return {t.trial_id: t for t in sorted(found, key=lambda t: t.order)}
