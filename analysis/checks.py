"""What no run can produce: a folder whose committed rows break these rules is refused whole,
with one error naming the file, the line and the rule (`AnalysisError`, exit 2) — never a
silently pooled figure.

- every trial has one row in trials.csv, every (trial, epoch) one row in epochs.csv, every
  (trial, phase) one row in phases.csv and every (trial, epoch, step) one row in steps.csv;
- an `ok` trial is complete: epochs 1..E (E its `epochs`) and every set-up phase a trial has;
- numbers are finite (`1e400` reads as infinity), and durations, epoch and step times are ≥ 0.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.tables import AnalysisError
from bench.contract.commits import missing_rows
from bench.contract.headline import REQUIRED_SETUP_PHASES

UNIQUE_KEYS = {
    "trials.csv": ("trial_id",),
    "epochs.csv": ("trial_id", "epoch"),
    "phases.csv": ("trial_id", "phase"),
    "ranks.csv": ("trial_id", "rank", "epoch"),
    "steps.csv": ("trial_id", "epoch", "step"),
}
NON_NEGATIVE = {
    "epochs.csv": ("wall_s",),
    "phases.csv": ("duration_s",),
    "steps.csv": ("wall_s",),
}


def _line(frame: pd.DataFrame, position: int) -> int:
    """The file line of the frame's row at `position` (its label is its row number in the file)."""
    return int(frame.index[position]) + 2


def _show(value: object) -> str:
    """A cell as a user wrote it: text quoted, numbers plain."""
    return repr(value) if isinstance(value, str) else str(getattr(value, "item", lambda: value)())


def check_rows(run_dir: Path, tables: dict[str, pd.DataFrame]) -> None:
    """Raise `AnalysisError` for the first committed row that breaks a rule of the module doc."""
    for name, keys in UNIQUE_KEYS.items():
        frame = tables[name]
        twice = np.flatnonzero(frame.duplicated(list(keys)).to_numpy())
        if len(twice):
            row = frame.iloc[twice[0]]
            what = ", ".join(f"{k} {_show(row[k])}" for k in keys)
            raise AnalysisError(
                f"{run_dir / name}: line {_line(frame, twice[0])}: a second row for {what}; "
                "a run writes each once (two writers, or rows pasted together?)."
            )
    for name, frame in tables.items():
        _finite(run_dir / name, frame, NON_NEGATIVE.get(name, ()))
    _complete(run_dir, tables)


def _finite(path: Path, frame: pd.DataFrame, non_negative: tuple[str, ...]) -> None:
    for column in frame.columns:
        if not pd.api.types.is_float_dtype(frame[column]):
            continue
        values = frame[column].to_numpy(dtype=float)
        bad = np.flatnonzero(np.isinf(values))
        rule = "a finite number"
        if column in non_negative:
            more = np.flatnonzero(values < 0)
            if len(more) and (not len(bad) or more[0] < bad[0]):
                bad, rule = more, "a number ≥ 0"
        if len(bad):
            raise AnalysisError(
                f"{path}: line {_line(frame, bad[0])}: {column} = {float(values[bad[0]])}; "
                f"expected {rule}."
            )


def _complete(run_dir: Path, tables: dict[str, pd.DataFrame]) -> None:
    trials = tables["trials.csv"]
    ok = trials[trials["status"] == "ok"]
    suspects = _incomplete(ok, tables["epochs.csv"], tables["phases.csv"])
    if not suspects.any():
        return
    wanted = tables["epochs.csv"]["trial_id"].isin(ok["trial_id"][suspects])
    epochs = tables["epochs.csv"][wanted].groupby("trial_id")["epoch"].agg(list)
    phases = tables["phases.csv"].groupby("trial_id")["phase"].agg(list)
    for position in np.flatnonzero(suspects):
        tid, planned = ok["trial_id"].iloc[position], ok["epochs"].iloc[position]
        lacks = missing_rows(int(planned), epochs.get(tid, []), phases.get(tid, []))
        if lacks:
            raise AnalysisError(
                f"{run_dir / 'trials.csv'}: line {_line(ok, position)}: trial {tid!r} is `ok` but "
                f"its rows are incomplete ({lacks}); bench run --resume {run_dir} runs it again."
            )


def _incomplete(ok: pd.DataFrame, epochs: pd.DataFrame, phases: pd.DataFrame) -> np.ndarray:
    """Per ok trial, whether its rows may be incomplete: not exactly one row for each epoch
    1..E, or a required set-up phase missing (`missing_rows` then says what, for these few;
    checked together here, since calling it for each of thousands of trials costs a second)."""
    got = epochs[epochs["trial_id"].isin(ok["trial_id"])].groupby("trial_id")["epoch"]
    counts = got.agg(["count", "nunique", "min", "max"]).reindex(ok["trial_id"])
    planned = ok["epochs"].to_numpy(dtype=float)
    exact = (
        (counts["count"].to_numpy() == planned)
        & (counts["nunique"].to_numpy() == planned)
        & ((counts["min"].to_numpy() == 1) | (planned == 0))
        & ((counts["max"].to_numpy() == planned) | (planned == 0))
    )
    has = set(zip(phases["trial_id"], phases["phase"], strict=True))
    phased = [all((t, p) in has for p in REQUIRED_SETUP_PHASES) for t in ok["trial_id"]]
    return ~(exact & np.array(phased, dtype=bool))
