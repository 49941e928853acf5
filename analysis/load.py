"""Read run folders into DataFrames, validated against `bench.contract.schema`.

`load_runs` reads `run.json`, `trials.csv`, `phases.csv` and `epochs.csv` of each folder and
concatenates the runs, keyed by `run_id`. Anything a reader could trip over — a missing or
truncated file, a header that is not exactly the schema's, a wrong `schema_version`, a value of
the wrong type, an empty run — raises `AnalysisError` with a message naming the file.

A folder written by an older schema version (`OLDEST_READABLE_VERSION` on) is read against the
header that version wrote; the columns added since are empty in its rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from analysis import forked
from analysis.checks import check_rows
from analysis.tables import AnalysisError, read_table
from bench.contract.commits import COMMIT_TABLE
from bench.contract.schema import OLDEST_READABLE_VERSION, PHASES, SCHEMA_VERSION, STATUSES, TABLES

__all__ = ["AnalysisError", "Runs", "load_runs", "read_meta", "read_table"]


@dataclass(frozen=True, slots=True)
class Runs:
    """Every table of one or more runs, concatenated; `runs` has one row per run folder,
    `meta` each run's run.json by run id, `extra` the schema's other tables (memory.csv,
    settings.csv, ...) by file name."""

    trials: pd.DataFrame
    phases: pd.DataFrame
    epochs: pd.DataFrame
    runs: pd.DataFrame
    meta: dict[str, dict[str, Any]]
    extra: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def run_ids(self) -> list[str]:
        return list(self.runs["run_id"])


def load_runs(run_dirs: Iterable[Path | str]) -> Runs:
    """Load and validate run folders; raise `AnalysisError` naming the file on bad input."""
    dirs = [Path(d) for d in run_dirs]
    if not dirs:
        raise AnalysisError("no run folder given.")
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in TABLES}
    metas: dict[str, dict[str, Any]] = {}
    rows, seen = [], set()
    for run_dir in dirs:
        if run_dir.resolve() in seen:
            raise AnalysisError(f"{run_dir}: the same run folder was given twice.")
        seen.add(run_dir.resolve())
    # several folders (a compare) are read side by side, in forked workers
    for run_dir, (meta, tables) in zip(dirs, forked.fork_map(read_run, dirs), strict=True):
        run_id = str(meta["run_id"])
        unique = _unique_id(run_id, metas)
        if unique != run_id:  # another folder, same id (runs started in the same second)
            tables = {name: frame.assign(run_id=unique) for name, frame in tables.items()}
            meta = meta | {"run_id": unique}
        metas[unique] = meta
        rows.append(meta_row(run_dir, meta))
        for name, frame in tables.items():
            parts[name].append(frame)
    joined = {name: pd.concat(frames, ignore_index=True) for name, frames in parts.items()}
    main = ("trials.csv", "phases.csv", "epochs.csv")
    return Runs(
        *(joined[name] for name in main),
        runs=pd.DataFrame(rows),
        meta=metas,
        extra={name: frame for name, frame in joined.items() if name not in main},
    )


def read_run(run_dir: Path) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """One run folder's run.json and tables (committed rows only), checked."""
    meta = read_meta(run_dir)
    version = int(meta["schema_version"])
    tables = {
        name: read_table(run_dir / name, row_type, version) for name, row_type in TABLES.items()
    }
    tables = committed_rows(tables)
    check_run(run_dir, str(meta["run_id"]), tables)
    check_rows(run_dir, tables)
    return meta, tables


def _unique_id(run_id: str, taken: dict[str, Any]) -> str:
    """`run_id`, or `run_id#2`, `#3`... when an earlier folder already had that id."""
    n, unique = 1, run_id
    while unique in taken:
        n += 1
        unique = f"{run_id}#{n}"
    return unique


def read_meta(run_dir: Path) -> dict[str, Any]:
    """run.json, checked for a readable `schema_version` and a `run_id`."""
    if not run_dir.is_dir():
        raise AnalysisError(f"{run_dir}: no such folder; give a run folder such as results/<id>.")
    path = run_dir / "run.json"
    if not path.is_file():
        raise AnalysisError(f"{path}: missing; is {run_dir} a bench result folder?")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AnalysisError(f"{path}: not valid JSON ({exc}); the file looks truncated.") from None
    if not isinstance(meta, dict) or "run_id" not in meta:
        raise AnalysisError(f"{path}: expected an object with 'run_id' and 'schema_version'.")
    version = meta.get("schema_version")
    readable = range(OLDEST_READABLE_VERSION, SCHEMA_VERSION + 1)
    if not isinstance(version, int) or isinstance(version, bool) or version not in readable:
        raise AnalysisError(
            f"{path}: schema_version is {version!r}, this analysis reads versions "
            f"{OLDEST_READABLE_VERSION} to {SCHEMA_VERSION}; use the bench version that wrote "
            "the run."
        )
    return meta


def check_run(run_dir: Path, run_id: str, tables: dict[str, pd.DataFrame]) -> None:
    """Cross-table checks: a non-empty run, one run id, known trials, statuses and phases."""
    trials = tables["trials.csv"]
    if trials.empty:
        raise AnalysisError(
            f"{run_dir / 'trials.csv'}: no trials — the run is empty "
            "(interrupted before its first trial finished?)."
        )
    for name, frame in tables.items():
        other = set(frame["run_id"].unique()) - {run_id}
        if other:
            path = run_dir / name
            raise AnalysisError(f"{path}: rows of run {sorted(other)[0]!r}, not {run_id!r}.")
    _check_values(run_dir / "trials.csv", trials["status"], STATUSES)
    _check_values(run_dir / "phases.csv", tables["phases.csv"]["phase"], PHASES)


def committed_rows(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Only the rows of committed trials (those with a trials.csv row: `bench.contract.commits`);
    a trial that died before its commit left rows no reader trusts. Row labels stay the rows'
    positions in their files (line = label + 2)."""
    known = set(tables[COMMIT_TABLE]["trial_id"].unique())  # unique() first: iterating is slow
    return {
        name: frame if name == COMMIT_TABLE else frame[frame["trial_id"].isin(known)]
        for name, frame in tables.items()
    }


def _check_values(path: Path, values: pd.Series, allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(values.unique()) - set(allowed))
    if unknown:
        raise AnalysisError(
            f"{path}: column {values.name}: unknown value {unknown[0]!r}; "
            f"expected one of {', '.join(allowed)}."
        )


def meta_row(run_dir: Path, meta: dict[str, Any]) -> dict[str, Any]:
    """One flat row of `Runs.runs`: the run's identity and host fingerprint."""
    host = meta.get("host") or {}
    gpus = host.get("gpus") or []
    return {
        "run_id": str(meta["run_id"]),
        "path": str(run_dir),
        "started_utc": meta.get("started_utc", ""),
        "finished_utc": meta.get("finished_utc", ""),
        "git_commit": meta.get("git_commit") or "",
        "interrupted": bool(meta.get("interrupted", False)),
        "hostname": host.get("hostname", ""),
        "cpu_model": host.get("cpu_model", ""),
        "cpu_physical_cores": host.get("cpu_physical_cores"),
        "gpus": ", ".join(str(g.get("name", g)) if isinstance(g, dict) else str(g) for g in gpus),
    }
