"""Collect a cluster run: merge the parts its jobs wrote into its tables.

The run folder is the truth (see `bench.launchers.parts`): a trial is done when
`parts/<trial_id>.json` exists; a job that ended without writing it (node failure, killed,
cancelled, Slurm's own time or memory limit; `bench.core.jobs` says when) makes the trial's row
say so, and `--resume` runs it again. A part is merged once: its trial's row is then in
trials.csv — unless the part changes later (a job Slurm requeued wrote it again, or a job taken
for lost did finish after all): a part newer than its merged row replaces that row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.contract.schema import TrialRow
from bench.contract.trial import Trial
from bench.core.jobs import ENDED, ClusterRun, ask_slurm, ended, job_id, job_state
from bench.core.results import utc_now
from bench.core.sweep import RunFolder, outcome_rows
from bench.launchers import parts


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
    if run.kind != "slurm" and not state:
        why = "the job's process ended"
    jid = job_id(run.jobs.get(trial.trial_id)) or "?"
    error = (f"job {jid} ended without a result ({why}); see {run.folder.path}/logs and the "
             f"submitit folder; bench run --resume {run.folder.path} runs it again")  # fmt: skip
    rows = outcome_rows(run.folder, trial, status, None, error, [], "")
    run.folder.writer.commit(rows)
    run.merged_mtime[trial.trial_id] = 0.0
    return rows["trials.csv"][0]


def collect(run: ClusterRun, finished_only: bool = False) -> list[TrialRow]:
    """Merge every new part (preempted attempts too), every part newer than its merged row,
    and every lost job, each committed as it is merged; return the new trial rows (attempts not
    included). `finished_only`: leave lost jobs alone."""
    if not finished_only:
        ask_slurm(run)  # before the parts are read: a part written before its job ended is seen
    new = _remerge(run)
    path = run.folder.path
    for tid, trial in run.trials.items():
        if tid in run.merged:
            continue
        _merge_attempts(run, trial)
        doc = parts.read_json(parts.part(path, tid))
        if doc is not None:
            new.append(_merge(run, trial, doc))
        elif not finished_only and tid in run.jobs and ended(run, tid):
            doc = parts.read_json(parts.part(path, tid))  # written just before the job ended?
            if doc is not None:
                new.append(_merge(run, trial, doc))
            else:
                new.append(lost_row(run, trial, job_state(run, tid)))
        else:
            continue
        run.merged.add(tid)
    renewed = {row.trial_id for row in new}
    run.fresh = [r for r in run.fresh if r.trial_id not in renewed] + new
    if new:
        run.folder.meta["collected_utc"] = utc_now()
        run.folder.writer.write_meta(run.folder.meta)
        _save_merged(run)
    return new


def _merge_attempts(run: ClusterRun, trial: Trial) -> None:
    for attempt in parts.attempts(run.folder.path, trial.trial_id):
        if attempt.stem not in run.merged and (doc := parts.read_json(attempt)) is not None:
            merge_part(run, trial, doc)
            run.merged.add(attempt.stem)


def _merge(run: ClusterRun, trial: Trial, doc: dict[str, Any]) -> TrialRow:
    """Merge a trial's part and remember which version of it was merged (its mtime)."""
    row = merge_part(run, trial, doc)
    run.merged_mtime[trial.trial_id] = _mtime(parts.part(run.folder.path, trial.trial_id))
    return row


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _remerge(run: ClusterRun) -> list[TrialRow]:
    """Replace the rows of merged trials whose part is newer than what was merged (a requeued
    job's rerun, or a job taken for lost that finished after all); their new rows."""
    rows = {r.trial_id: r for r in run.folder.writer.rows["trials.csv"]}
    stale = []
    for tid in run.trials:
        if tid not in run.merged or tid not in rows:
            continue
        mtime = _mtime(parts.part(run.folder.path, tid))
        seen = run.merged_mtime.get(tid)
        if seen is None:  # merged by a bench that kept no record: compare the statuses
            doc = parts.read_json(parts.part(run.folder.path, tid)) if mtime else None
            seen = mtime if doc is None or doc["status"] == rows[tid].status else 0.0
            run.merged_mtime[tid] = seen
        if mtime > seen:
            stale.append(tid)
    new = []
    for tid in stale:
        doc = parts.read_json(parts.part(run.folder.path, tid))
        if doc is not None:
            run.folder.writer.drop({tid})
            _merge_attempts(run, run.trials[tid])
            new.append(_merge(run, run.trials[tid], doc))
    return new


def _save_merged(run: ClusterRun) -> None:
    """launcher.json's `merged`: the mtime of each merged part (0: a lost job's row)."""
    path = run.folder.path / parts.LAUNCHER_FILE
    doc = parts.read_json(path)
    if doc is not None:
        parts.write_json(path, {**doc, "merged": run.merged_mtime})


def merged_ids(folder: RunFolder) -> set[str]:
    """Trial ids (and attempt ids) whose rows are already in the folder's trials.csv."""
    return {row.trial_id for row in folder.writer.rows["trials.csv"]}


def trials_of(run_dir: Path) -> dict[str, Trial]:
    """The planned trials of a cluster run, in plan order, from its `jobs/` folder."""
    found = [Trial.from_json(parts.read_json(p)) for p in (run_dir / parts.JOBS).glob("*.json")]
    return {t.trial_id: t for t in sorted(found, key=lambda t: t.order)}
