"""The run folder: `results/<run_id>/` with run.json, the CSV tables and the trials' logs.

Each trial's rows are committed at once (`bench.contract.commits`: appended to every table,
trials.csv last), so a crash at any instant leaves every earlier trial whole and no part of the
one it interrupted that any reader trusts. run.json and a table rewritten whole (`write_atomic`)
go to a temporary file in the same folder, flushed to disk, then renamed over the old one.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.contract.commits import COMMIT_TABLE, append_order, committed, complete_part
from bench.contract.names import NAME_WORDS, within
from bench.contract.schema import SCHEMA_VERSION, TABLES, columns
from bench.core import lock
from bench.errors import UsageError


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_run_dir(out_dir: Path, name: str) -> tuple[str, Path]:
    """Create a fresh `out_dir/<run_id>`; the id is the UTC time plus the optional name (run
    name and partition, each a checked name: `bench.contract.names`), and it must stay there."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    run_id = f"{stamp}-{name}" if name else stamp
    path, n = out_dir / run_id, 1
    while path.exists():
        n += 1
        path = out_dir / f"{run_id}.{n}"
    try:
        within(out_dir, path)
    except ValueError as exc:
        raise UsageError(f"run name {name!r}: {exc}; a run name is {NAME_WORDS}.") from None
    try:
        (path / "logs").mkdir(parents=True)
        probe = path / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise UsageError(
            f"output folder {out_dir}: cannot create a run folder there ({exc.strerror}); "
            "choose another with --out or [output] dir."
        ) from None
    return path.name, path


def _cell(value: Any) -> Any:
    return "" if value is None else value


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` all at once; on failure (disk full...) the old file stays."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UsageError(
            f"{path}: cannot write results ({exc.strerror or exc}); the previous complete "
            f"version of the file is kept. Free space or fix permissions, then finish the run "
            f"with: python -m bench run --resume {path.parent}"
        ) from None


def _lines(rows: list[Any]) -> str:
    lines = io.StringIO()
    writer = csv.writer(lines, lineterminator="\n")
    for row in rows:
        writer.writerow(_cell(v) for v in dataclasses.astuple(row))
    return lines.getvalue()


def _header(row_type: type) -> str:
    return ",".join(columns(row_type)) + "\n"


class RunWriter:
    """A run folder's tables: one commit per trial (`bench.contract.commits`), its rows kept.

    `create` writes the empty tables of a new folder; `commit` appends one trial's rows to every
    table, trials.csv last; `load` reads back the committed rows of an existing folder (to resume
    it or collect into it) and `rewrite` replaces each table by exactly the rows kept, so that
    nothing uncommitted (or dropped) is ever followed by a new commit.
    """

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.rows: dict[str, list[Any]] = {name: [] for name in TABLES}
        self.stale = False  # the files hold rows not kept: `rewrite` before the next commit

    def create(self) -> None:
        """The empty tables of a new folder, under its writer lock."""
        lock.hold(self.run_dir)
        for table, row_type in TABLES.items():
            write_atomic(self.run_dir / table, _header(row_type))

    def commit(self, rows: dict[str, list[Any]]) -> None:
        """Append one trial's rows to every table, trials.csv last (its commit), each flushed to
        disk before the next. A failed write (disk full) cuts every table back to its size before
        and raises the one error a user sees; the trial is then not committed."""
        if self.stale:
            self.rewrite()
        before: dict[Path, int] = {}
        try:
            for table in append_order(TABLES):
                path = self.run_dir / table
                before[path] = path.stat().st_size
                with open(path, "a", encoding="utf-8", newline="") as f:
                    f.write(_lines(rows.get(table, [])))
                    f.flush()
                    os.fsync(f.fileno())
        except OSError as exc:
            for path, size in before.items():
                with contextlib.suppress(OSError):
                    os.truncate(path, size)
            raise UsageError(
                f"{self.run_dir}: cannot write results ({exc.strerror or exc}); every trial "
                "finished before this one is kept. Free space or fix permissions, then finish "
                f"the run with: python -m bench run --resume {self.run_dir}"
            ) from None
        for table, table_rows in rows.items():
            self.rows[table].extend(table_rows)

    def load(self) -> dict[str, int]:
        """Read back the committed rows of every table (cells stay text); the rows left out,
        uncommitted or cut off, by table. Takes the folder's writer lock: nothing else may write
        into it while this process works on it."""
        lock.hold(self.run_dir)
        raw = {table: self._read(table, row_type) for table, row_type in TABLES.items()}
        left = {table: cut for table, (_, cut) in raw.items() if cut}
        ids = {row.trial_id for row in raw[COMMIT_TABLE][0]}
        for table, (rows, _) in raw.items():
            self.rows[table], orphans = committed(rows, ids, lambda r: r.trial_id)
            if orphans:
                left[table] = left.get(table, 0) + orphans
        self.stale = bool(left)
        return left

    def _read(self, table: str, row_type: type) -> tuple[list[Any], int]:
        path = self.run_dir / table
        if not path.exists():
            return [], 0
        data, cut = complete_part(path.read_bytes())
        reader = csv.DictReader(io.StringIO(data.decode("utf-8", errors="replace")))
        if reader.fieldnames != columns(row_type):
            raise UsageError(
                f"{path}: its columns are not those of this bench version's {table}; "
                "it cannot be resumed."
            )
        return [row_type(**row) for row in reader], int(cut > 0)

    def drop(self, trial_ids: set[str]) -> None:
        """Forget every row of these trials (a trial that runs again); `rewrite` writes that."""
        for table, rows in self.rows.items():
            self.rows[table] = [r for r in rows if r.trial_id not in trial_ids]
            self.stale |= len(self.rows[table]) != len(rows)

    def rewrite(self) -> None:
        """Replace every table by exactly the rows kept, trials.csv first (a crash between two
        tables leaves only rows of uncommitted trials behind, which no reader trusts)."""
        for table in reversed(append_order(TABLES)):
            row_type = TABLES[table]
            write_atomic(self.run_dir / table, _header(row_type) + _lines(self.rows[table]))
        self.stale = False

    def write_meta(self, meta: dict[str, Any]) -> None:
        doc = {"schema_version": SCHEMA_VERSION, **meta}
        write_atomic(self.run_dir / "run.json", json.dumps(doc, indent=2) + "\n")
