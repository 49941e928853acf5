"""The run folder: `results/<run_id>/` with run.json, the CSV tables and the trials' logs.

Every table is rewritten whole after each trial — to a temporary file in the same folder, flushed
to disk, then renamed over the old one — so a crash at any instant leaves either the previous
complete file or the new complete file, never half a row.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.contract.schema import SCHEMA_VERSION, TABLES, columns
from bench.errors import UsageError


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_run_dir(out_dir: Path, name: str) -> tuple[str, Path]:
    """Create a fresh `out_dir/<run_id>`; the id is the UTC time plus the optional name."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    run_id = f"{stamp}-{name}" if name else stamp
    path, n = out_dir / run_id, 1
    while path.exists():
        n += 1
        path = out_dir / f"{run_id}.{n}"
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


class RunWriter:
    """Collects every table's rows and rewrites the tables after each trial."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.rows: dict[str, list[Any]] = {name: [] for name in TABLES}

    def add(self, table: str, rows: list[Any]) -> None:
        self.rows[table].extend(rows)

    def load(self) -> None:
        """Read back the tables already in the folder (to resume a run); cells stay text."""
        for table, row_type in TABLES.items():
            path = self.run_dir / table
            if not path.exists():
                continue
            with open(path, newline="", encoding="utf-8") as f:
                reader = csv.DictReader(f)
                if reader.fieldnames != columns(row_type):
                    raise UsageError(
                        f"{path}: its columns are not those of this bench version's {table}; "
                        "it cannot be resumed."
                    )
                self.rows[table] = [row_type(**row) for row in reader]

    def drop(self, trial_ids: set[str]) -> None:
        """Forget every row of these trials (an interrupted trial that runs again)."""
        for table in self.rows:
            self.rows[table] = [r for r in self.rows[table] if r.trial_id not in trial_ids]

    def flush(self) -> None:
        for table, row_type in TABLES.items():
            lines = io.StringIO()
            writer = csv.writer(lines, lineterminator="\n")
            writer.writerow(columns(row_type))
            for row in self.rows[table]:
                writer.writerow(_cell(v) for v in dataclasses.astuple(row))
            write_atomic(self.run_dir / table, lines.getvalue())

    def write_meta(self, meta: dict[str, Any]) -> None:
        doc = {"schema_version": SCHEMA_VERSION, **meta}
        write_atomic(self.run_dir / "run.json", json.dumps(doc, indent=2) + "\n")
