"""`python -m bench run --resume RUN_DIR`: finish an interrupted run without duplicating rows.

The run's own recorded config (run.json) is planned again on this machine. Only committed trials
are trusted (`bench.contract.commits`): rows of a trial that died before its commit, and a line
cut off at the end of a table, are dropped; every planned trial whose row is missing from
trials.csv, whose row says `interrupted`, or that says `ok` without all its rows (`incomplete`)
runs now, its old rows dropped. What was dropped is noted in run.json (`repairs`), and every
table is rewritten to exactly the rows kept before the first new commit. A folder written by
another schema version is refused.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from bench.contract.commits import missing_rows
from bench.contract.schema import SCHEMA_VERSION
from bench.contract.trial import Trial
from bench.core import config as config_mod
from bench.core.recipe import check_unchanged
from bench.core.results import RunWriter, utc_now
from bench.core.sweep import RunFolder, planned_trials
from bench.errors import UsageError


def read_meta(run_dir: Path) -> dict:
    path = run_dir / "run.json"
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(
            f"{path}: not found; --resume needs a run folder made by bench run."
        ) from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: unreadable ({exc}); this run cannot be resumed.") from None
    version = meta.get("schema_version")
    if version != SCHEMA_VERSION:
        raise UsageError(
            f"{path}: written with result schema version {version}, but this bench writes "
            f"version {SCHEMA_VERSION}; resume it with the bench version that started it, or "
            "start a new run."
        )
    return meta


def incomplete(writer: RunWriter) -> set[str]:
    """`ok` trials whose rows are not all there (`bench.contract.commits.missing_rows`, the
    report's rule too). They run again."""
    epochs: dict[str, list[int]] = {}
    for row in writer.rows["epochs.csv"]:
        epochs.setdefault(row.trial_id, []).append(int(row.epoch))
    phases: dict[str, list[str]] = {}
    for row in writer.rows["phases.csv"]:
        phases.setdefault(row.trial_id, []).append(row.phase)
    return {
        row.trial_id
        for row in writer.rows["trials.csv"]
        if row.status == "ok"
        and missing_rows(
            int(row.epochs), epochs.get(row.trial_id, []), phases.get(row.trial_id, [])
        )
    }


def repaired(meta: dict, left: dict[str, int], redo: set[str]) -> None:
    """Note in run.json what a resume dropped: rows of uncommitted trials or cut-off lines, by
    table, and the trials it runs again (interrupted or incomplete)."""
    if left or redo:
        note = {"utc": utc_now(), "rows_dropped": left, "trials_rerun": sorted(redo)}
        meta.setdefault("repairs", []).append(note)


def reopen(run_dir: Path, argv: list[str]) -> tuple[config_mod.Config, list[Trial], RunFolder]:
    """The run's config, the trials still to run, and the folder ready to take their rows."""
    meta = read_meta(run_dir)
    doc = {k: v for k, v in meta["config"].items() if k != "source"}
    config = config_mod.parse(doc, f"{run_dir / 'run.json'} (recorded config)")
    planned = planned_trials(config)
    check_unchanged(meta.get("recipe"), planned, f"{run_dir} (--resume)")
    writer = RunWriter(run_dir)
    left = writer.load()
    status = {row.trial_id: row.status for row in writer.rows["trials.csv"]}
    if status and not set(status) & {t.trial_id for t in planned}:
        raise UsageError(
            f"{run_dir}: none of its trials is in the plan made here from its config (another "
            "machine, other devices or thread counts?); it cannot be resumed here."
        )
    redo = {tid for tid, s in status.items() if s == "interrupted"} | incomplete(writer)
    writer.drop(redo)
    repaired(meta, left, redo)
    todo = [t for t in planned if t.trial_id not in status or t.trial_id in redo]
    meta.setdefault("resumed", []).append({"utc": utc_now(), "command": argv, "trials": len(todo)})
    folder = RunFolder(meta["run_id"], run_dir, writer, meta)
    return config, todo, folder


def nothing_to_resume(folder: RunFolder) -> str:
    """The line `--resume` prints for a run whose every planned trial has its row (it runs
    nothing and exits as the run did: 0, or 1 while it holds a failed trial), with the run's
    trials counted by status."""
    rows = folder.writer.rows["trials.csv"]
    statuses = ", ".join(f"{n} {s}" for s, n in Counter(r.status for r in rows).items())
    return (
        f"nothing to resume: every planned trial of {folder.path} has its row "
        f"({len(rows)} trials: {statuses})."
    )
