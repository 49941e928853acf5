"""Seeded synthetic runs, built in memory with every column of the schema: what the tests and
`scripts/simulate_verdicts.py` feed the statistics to measure what each rule promises.

The noise model: a trial's epoch times are base × F × exp(ε), where F ~ lognormal(0, spread)
is its process's speed — shared by all its epochs — and ε each epoch's own noise, with SD
`epoch`: independent normal draws, or (a VM) Student-t draws with `tail_df` degrees of freedom
scaled to that SD, correlated from epoch to epoch inside a process as AR(1) with coefficient
`ar`. Epoch 1 costs FIRST × more, and optionally epoch e a further (1 + drift·(e − 2)); set-up
phases scale with F too. Two runs drawn with the same `scale` come from the same distribution:
nothing differs between them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pandas as pd

from analysis.load import Runs
from bench.contract.schema import SINGLE_PHASES, EpochRow, PhaseRow, TrialRow, columns
from bench.core.rules import rule_of
from bench.core.settings import Sweep


@dataclass(frozen=True, slots=True)
class Noise:
    """Log-SDs of process speed and epoch noise; the epoch noise's AR(1) coefficient inside a
    process and the degrees of freedom of its Student-t tails (None: normal)."""

    spread: float = 0.08
    epoch: float = 0.02
    ar: float = 0.0
    tail_df: float | None = None

    def epoch_logs(self, rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
        """ε for `shape` = (processes, epochs): each row one process's epochs in order."""
        z = _innovations(rng, shape, self.tail_df)
        if self.ar:
            for e in range(1, shape[1]):  # stationary: every epoch keeps the SD `epoch`
                z[:, e] = self.ar * z[:, e - 1] + math.sqrt(1 - self.ar**2) * z[:, e]
        return self.epoch * z


def _innovations(rng: np.random.Generator, shape: tuple[int, ...], df: float | None) -> np.ndarray:
    """Unit-variance draws: normal, or Student-t with `df` (> 2) degrees of freedom."""
    if df is None:
        return rng.standard_normal(shape)
    return rng.standard_t(df, shape) * math.sqrt((df - 2) / df)


LAB = Noise()  # the development machine (issue 19): 8 % between processes, 2 % between epochs
VM = Noise(spread=0.08, epoch=0.10, ar=0.5, tail_df=3)  # a shared VM: heavy tails, correlated
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
    "precision": rule_of(Sweep, "precisions").default[0],  # the declared default
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
    scale: dict[str, float | Sequence[float]] | None = None,
    drift: float = 0.0,
    noise: Noise | None = None,
) -> Runs:
    """Runs holding `repeats` ok trials of each configuration (a dict of identity overrides,
    e.g. {"model": "m0"}); run r's times are multiplied by scale[r] (default 1): one factor,
    or one per configuration. `noise` defaults to LAB."""
    noise = noise or LAB
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
        factor = _scale(scale, run_id, len(configs), repeats) * rng.lognormal(0, noise.spread, n)
        wall = factor[:, None] * _epoch_factors(rng, noise, (n, epochs))
        wall *= 1 + drift * np.maximum(np.arange(epochs) - 1, 0)
        wall[:, 0] *= FIRST
        setup = SETUP_S * factor[:, None] * _epoch_factors(rng, noise, (n, len(SINGLE_PHASES) - 2))
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


def _scale(scale: dict | None, run_id: str, configs: int, repeats: int) -> np.ndarray | float:
    """Run `run_id`'s factor per trial (rows: repeat-major, configurations inside)."""
    value = (scale or {}).get(run_id, 1.0)
    if np.ndim(value) == 0:
        return float(value)
    per_config = np.asarray(value, dtype=float)
    if len(per_config) != configs:
        raise ValueError(f"scale[{run_id!r}] has {len(per_config)} factors for {configs} configs")
    return np.tile(per_config, repeats)


def _epoch_factors(rng: np.random.Generator, noise: Noise, shape: tuple[int, int]) -> np.ndarray:
    """exp(ε): lognormal draws for independent normal noise (the draws the tests were seeded
    with), else `Noise.epoch_logs`."""
    if noise.ar == 0 and noise.tail_df is None:
        return rng.lognormal(0, noise.epoch, shape)
    return np.exp(noise.epoch_logs(rng, shape))


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
        "peak_rss_bytes": np.nan,  # not measured, as a loaded epochs.csv reads
        "peak_device_bytes": np.nan,
    }
    return _frame(EpochRow, data, n * e)


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
