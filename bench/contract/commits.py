"""How a trial's rows become part of a run: one commit per trial, and what a reader trusts.

A trial's rows are appended to every table of its run folder in `APPEND_ORDER`: every other table
first, `trials.csv` last. Its row in trials.csv — a whole line, ended by a new line — is the
commit: a reader (the report, `--resume`) trusts only the rows of committed trials. Whatever
moment the writing process dies, a trial's rows either all count or none do: a line cut off at
the end of a file (a full disk, a kill in mid-write) is not a row (`complete_part`), and rows of
a trial without a trials.csv row (it died before its commit) are not read (`committed`).

Appending keeps the cost of a commit flat however long the run (rewriting every table after
every trial cost 0.10 s a trial at 20 trials and 0.37 s at 200); a writer that opens a folder
(`--resume`, a cluster collector) first rewrites each table to exactly its committed rows, so
that nothing uncommitted is ever followed by a new commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bench.contract.headline import REQUIRED_SETUP_PHASES

COMMIT_TABLE = "trials.csv"


def append_order(tables: Iterable[str]) -> tuple[str, ...]:
    """`tables` with the commit table last."""
    names = list(tables)
    return (*(t for t in names if t != COMMIT_TABLE), COMMIT_TABLE)


def complete_part(data: bytes) -> tuple[bytes, int]:
    """The whole lines of a table file, and how many bytes after them were cut off."""
    end = data.rfind(b"\n") + 1
    return data[:end], len(data) - end


def missing_rows(planned_epochs: int, epochs: Iterable[int], phases: Iterable[str]) -> str:
    """What an `ok` trial lacks of the rows it must have — epochs 1..E, one row each, and every
    set-up phase a trial has — in words ("" when nothing). The report refuses such a trial and
    `--resume` runs it again (a folder of a bench before one commit per trial can hold one)."""
    got = sorted(int(e) for e in epochs)
    lacking = [p for p in REQUIRED_SETUP_PHASES if p not in set(phases)]
    words = (
        []
        if got == list(range(1, planned_epochs + 1))
        else [f"{len(got)} of {planned_epochs} epochs"]
    )
    return "; ".join(words + ([f"no {', '.join(lacking)} phase"] if lacking else []))


def committed(rows: Iterable[Any], trial_ids: set[str], key: Any) -> tuple[list[Any], int]:
    """The rows whose trial (`key(row)`) is committed, and how many were left out."""
    kept, left = [], 0
    for row in rows:
        if key(row) in trial_ids:
            kept.append(row)
        else:
            left += 1
    return kept, left
