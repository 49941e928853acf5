"""Synthetic runs for the analysis tests, built in memory with every column of the schema.

The noise model of the review of issue 19: a trial's epoch times are base × F × ε, where
F ~ lognormal(0, SPREAD) is its process's speed — shared by all its epochs — and
ε ~ lognormal(0, NOISE) each epoch's own noise; epoch 1 costs FIRST × more, and optionally
epoch e a further (1 + drift·(e − 2)). Set-up phases scale with F too. Two runs drawn with the
same `scale` come from the same distribution: nothing differs between them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from types import SimpleNamespace

import numpy as np
import pandas as pd

from analysis.load import Runs
from bench.contract.schema import SINGLE_PHASES, EpochRow, PhaseRow, TrialRow, columns

SPREAD, NOISE = 0.08, 0.02  # process-to-process and epoch-to-epoch (log SD)
FIRST = 3.0
SETUP_S = 0.25  # per set-up phase, before the process factor
IDENTITY = {
    "framework": "fake",
    "backend": "fake",
    "mode": "scripted",
    "cache": "cold",
    "model_options": "",
    "dataset": "synthetic",
    "classes": 10,
    "input_shape": "28x28x1",
    "device": "cpu",
    "device_name": "CPU",
    "threads": 1,
    "precision": "fp32",
    "batch_size": 32,
    "steps_per_epoch": 2,
    "samples_per_epoch": 64,
    "status": "ok",
}


def _frame(row_type: type, data: dict[str, object], n: int) -> pd.DataFrame:
    """A table of `row_type`: the given columns, every other column its field default."""
    fields = {f.name: f for f in dataclasses.fields(row_type)}
    out = {}
    for name in columns(row_type):
        if name in data:
            out[name] = data[name]
        else:
            default = fields[name].default
            out[name] = [None if default is dataclasses.MISSING else default] * n
    return pd.DataFrame(out)


def make_runs(
    run_ids: Sequence[str],
    configs: Sequence[dict],
    repeats: int,
    seed: int,
    epochs: int = 6,
    scale: dict[str, float] | None = None,
    drift: float = 0.0,
) -> Runs:
    """Runs holding `repeats` ok trials of each configuration (a dict of identity overrides,
    e.g. {"model": "m0"}); run r's times are multiplied by scale[r] (default 1)."""
    rng = np.random.default_rng(seed)
    trials, phases, walls = [], [], []
    for run_id in run_ids:
        rows = [
            IDENTITY | {"epochs": epochs, "model": "m"} | c | {"run_id": run_id, "repeat": r}
            for r in range(repeats)
            for c in configs
        ]
        n = len(rows)
        frame = pd.DataFrame(rows)
        frame["order"] = np.arange(n)
        frame["trial_id"] = [f"{i:05d}-{r['model']}-r{r['repeat']}" for i, r in enumerate(rows)]
        factor = (scale or {}).get(run_id, 1.0) * rng.lognormal(0, SPREAD, n)
        wall = factor[:, None] * rng.lognormal(0, NOISE, (n, epochs))
        wall *= 1 + drift * np.maximum(np.arange(epochs) - 1, 0)
        wall[:, 0] *= FIRST
        setup = SETUP_S * factor[:, None] * rng.lognormal(0, NOISE, (n, len(SINGLE_PHASES) - 2))
        trials.append(frame)
        phases.append(_phases(frame, setup, wall[:, 0]))
        walls.append(_epochs(frame, wall))
    trial_frame = pd.concat(trials, ignore_index=True)
    table = _frame(TrialRow, {c: trial_frame[c] for c in trial_frame}, len(trial_frame))
    return Runs(
        trials=table,
        phases=pd.concat(phases, ignore_index=True),
        epochs=pd.concat(walls, ignore_index=True),
        runs=pd.DataFrame({"run_id": list(run_ids)}),
        meta={r: {"run_id": r} for r in run_ids},
    )


def _phases(trials: pd.DataFrame, setup: np.ndarray, first: np.ndarray) -> pd.DataFrame:
    """phases.csv rows: the set-up phases, then epoch 1 as 40% first step + 60% the rest."""
    durations = np.column_stack([setup, 0.4 * first, 0.6 * first])
    starts = np.cumsum(durations, axis=1) - durations
    n, k = durations.shape
    data = {
        "run_id": np.repeat(trials["run_id"].to_numpy(), k),
        "trial_id": np.repeat(trials["trial_id"].to_numpy(), k),
        "phase": np.tile(SINGLE_PHASES, n),
        "start_s": starts.ravel(),
        "duration_s": durations.ravel(),
    }
    return _frame(PhaseRow, data, n * k)


def _epochs(trials: pd.DataFrame, wall: np.ndarray) -> pd.DataFrame:
    n, e = wall.shape
    data = {
        "run_id": np.repeat(trials["run_id"].to_numpy(), e),
        "trial_id": np.repeat(trials["trial_id"].to_numpy(), e),
        "epoch": np.tile(np.arange(1, e + 1), n),
        "wall_s": wall.ravel(),
        "steps": 2,
        "samples": 64,
        "loss": 1.0,
    }
    return _frame(EpochRow, {k: v for k, v in data.items()}, n * e)


def trial_view(runs: Runs) -> SimpleNamespace:
    """What `compare_table` reads of an Analysis: the trial table and the runs."""
    from analysis.summary import trial_table

    return SimpleNamespace(trials=trial_table(runs), runs=runs)


def join_runs(*parts: Runs) -> Runs:
    """Runs made separately (each its own configurations), as one load would hold them."""
    return Runs(
        *(pd.concat([getattr(r, t) for r in parts], ignore_index=True) for t in TABLES),
        meta={k: v for r in parts for k, v in r.meta.items()},
    )


TABLES = ("trials", "phases", "epochs", "runs")
