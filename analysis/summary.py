"""Derived tables, recomputed from raw rows: one row per trial, one per configuration.

A *configuration* is one run's trials that differ only in `repeat` (its identity columns are
`bench.contract.schema.IDENTITY_COLUMNS`). Only trials with status `ok` enter a statistic; the
others are listed, never averaged. The repeat — a fresh process, one value each — is the unit:
a configuration's steady epoch time is the median of its repeats' steady times, with the
order-statistic interval at the confidence its repeat count reaches (`stats.median_ci`).
Numbers in a row add up: overhead = first epoch − steady epoch and cold start = set-up + first
epoch, each a median over repeats.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import drift, forked, stats
from analysis.labels import device_kind, variant
from analysis.load import Runs
from analysis.steps import trial_steps
from bench.contract.headline import STEADY_FROM, TRIAL_FIGURES, derived, trial_figures
from bench.contract.schema import IDENTITY_COLUMNS, TrialRow, columns
from bench.contract.steps import STEP_FIGURES
from bench.core.labels import part, shown_by

IDENTITY = ("run_id", *IDENTITY_COLUMNS)
# recomputed here from raw rows; trials.csv's own copies are dropped
HEADLINE = (*TRIAL_FIGURES, *STEP_FIGURES, "peak_rss_bytes", "peak_device_bytes")
CONFIG = [c for c in IDENTITY if c in columns(TrialRow)]
# identity columns other than model, device and variant: what a label may add to those three
SETTINGS = [
    c for c in CONFIG if c not in ("model", "device", "framework", "backend", "mode", "device_name")
]
BARE = ("run_id", "input_shape")  # shown as their values; settings as declared; others column=value


def setting_labels(
    frame: pd.DataFrame, exclude: tuple[str, ...] = (), sep: str = " · "
) -> pd.Series:
    """'b32 · t1': the settings (SETTINGS) that vary between the rows of `frame`, each value as
    its declaration writes it (`bench.core.labels`: `bf16`, `autotune=on`, `dp2`)."""
    varying = [c for c in SETTINGS if c not in exclude and frame[c].nunique() > 1]
    shown = [c for c in dict.fromkeys(shown_by(c) or c for c in varying) if c not in exclude]
    if not shown or frame.empty:
        return pd.Series("", index=frame.index, dtype=object)
    rows = frame[[c for c in SETTINGS if c in frame]].to_dict("records")
    texts = [sep.join(p for p in (_part(c, row) for c in shown) if p) for row in rows]
    return pd.Series(texts, index=frame.index, dtype=object)


def _part(column: str, row: dict) -> str:
    if column in BARE:
        return "" if row[column] in ("", None) else str(row[column])
    return part(column, row, full=True)


def config_labels(frame: pd.DataFrame) -> pd.Series:
    """'seed_cnn · cpu · torch eager · b32': model, device, variant and the varying settings."""
    base = frame["model"] + " · " + frame["device"] + " · " + frame["variant"]
    extra = setting_labels(frame)
    return base.where(extra == "", base + " · " + extra)


def trial_table(runs: Runs) -> pd.DataFrame:
    """One row per trial (every status): identity, status, error, and for ok trials the
    headline figures recomputed from raw rows by their one definition
    (`bench.contract.headline.trial_figures`: setup_s, first_step_s, first_epoch_s,
    steady_epoch_s, samples_per_s; overhead_s is its first_epoch_overhead_s), the per-step
    figures from steps.csv (`bench.contract.steps`), overhead_ratio, cold_s, peaks, n_steady
    and the flagged outlier epochs."""
    trials = runs.trials.drop(columns=[c for c in HEADLINE if c in runs.trials]).copy()
    trials["variant"] = [
        variant(f, b, m)
        for f, b, m in zip(trials["framework"], trials["backend"], trials["mode"], strict=True)
    ]
    trials["device_kind"] = trials["device"].map(device_kind)
    for column in CONFIG:  # an empty identity cell is a value ("") — groupby would drop NaN
        if trials[column].isna().any():
            trials[column] = trials[column].astype(object).where(trials[column].notna(), "")
    keys = ["run_id", "trial_id"]
    table = trials.join(headline_figures(runs.phases, runs.epochs), on=keys)
    table = table.join(_epoch_figures(runs.epochs), on=keys)
    table = table.join(trial_steps(runs.extra.get("steps.csv")), on=keys)
    not_ok = table["status"] != "ok"
    derived = [c for c in table.columns if c not in trials.columns]
    table.loc[not_ok, derived] = np.nan
    table["overhead_ratio"] = table["first_epoch_s"] / table["steady_epoch_s"]
    table["cold_s"] = table["setup_s"] + table["first_epoch_s"]
    flags = table["outlier_epochs"].astype(object)
    table["outlier_epochs"] = flags.where(flags.notna(), "")
    return table.sort_values(["run_id", "order"], ignore_index=True)


def headline_figures(phases: pd.DataFrame, epochs: pd.DataFrame) -> pd.DataFrame:
    """Per (run_id, trial_id): `headline.trial_figures` of its raw phase and epoch rows, as
    trials.csv has them (first_epoch_overhead_s named overhead_s)."""
    durations: dict[tuple[str, str], dict[str, float]] = {}
    columns = (phases[c].tolist() for c in ("run_id", "trial_id", "phase", "duration_s"))
    for run, trial, phase, seconds in zip(*columns, strict=True):
        durations.setdefault((run, trial), {})[phase] = seconds
    walls: dict[tuple[str, str], dict[int, float]] = {}
    samples: dict[tuple[str, str], int] = {}
    columns = (epochs[c].tolist() for c in ("run_id", "trial_id", "epoch", "wall_s", "samples"))
    for run, trial, epoch, wall, n in zip(*columns, strict=True):
        walls.setdefault((run, trial), {})[epoch] = wall
        samples.setdefault((run, trial), n)
    keys = sorted(durations.keys() | walls.keys())
    rows = [trial_figures(durations.get(k, {}), walls.get(k, {}), samples.get(k, 0)) for k in keys]
    index = pd.MultiIndex.from_tuples(keys, names=["run_id", "trial_id"])
    frame = pd.DataFrame(rows, index=index, columns=list(TRIAL_FIGURES), dtype=float)
    return frame.rename(columns={"first_epoch_overhead_s": "overhead_s"})


def _epoch_figures(epochs: pd.DataFrame) -> pd.DataFrame:
    """Per (run_id, trial_id): n_steady, peaks and the outlier steady epochs."""
    keys = ["run_id", "trial_id"]
    grouped = epochs.groupby(keys)
    steady = steady_epochs(epochs)
    out = pd.DataFrame({"n_steady": steady.groupby(keys)["wall_s"].size()})
    out = out.reindex(grouped.size().index)
    out["peak_rss_bytes"] = grouped["peak_rss_bytes"].max().astype(float)
    out["peak_device_bytes"] = grouped["peak_device_bytes"].max().astype(float)
    flagged = steady[outlier_mask(steady)]
    out["outlier_epochs"] = flagged.groupby(keys)["epoch"].agg(lambda e: ", ".join(map(str, e)))
    return out


def steady_epochs(epochs: pd.DataFrame) -> pd.DataFrame:
    """Epochs 2..E: the steady state."""
    return epochs[epochs["epoch"] >= STEADY_FROM]


def outlier_mask(steady: pd.DataFrame) -> pd.Series:
    """Per trial, the steady epochs whose modified z-score exceeds `stats.outlier_cutoff` of
    the trial's count of steady epochs (vectorised `stats.mad_outliers` within each trial)."""
    group = steady.groupby(["run_id", "trial_id"])["wall_s"]
    cutoff = group.transform("size").map(stats.outlier_cutoff)
    dev = steady["wall_s"] - group.transform("median")
    absdev = dev.abs().groupby([steady["run_id"], steady["trial_id"]])
    mad, mean_ad = absdev.transform("median"), absdev.transform("mean")
    z = np.where(mad > 0, 0.6745 * dev / mad.where(mad > 0, 1.0), 0.0)
    z = np.where((mad == 0) & (mean_ad > 0), dev / (1.253314 * mean_ad.where(mean_ad > 0, 1)), z)
    return pd.Series(np.abs(z) > cutoff.to_numpy(), index=steady.index)


STATS = [
    "variant",
    "n_ok",
    "steady_s",
    "steady_low",
    "steady_high",
    "ci_level",
    "first_epoch_s",
    "overhead_s",
    "overhead_ratio",
    "setup_s",
    "cold_s",
    "first_step_s",
    "samples_per_s",
    "peak_rss_bytes",
    "peak_device_bytes",
    "trend_drift",
    "drift_tested",
    "not_steady",
    "final_epoch_excess",
    "final_epoch_slow",
    "first_not_slower",
    "outlier_repeats",
]


def config_table(trials: pd.DataFrame, epochs: pd.DataFrame) -> pd.DataFrame:
    """One row per configuration of ok trials (columns CONFIG + STATS): n, the steady median
    over repeats with its order-statistic CI and that CI's confidence (`ci_level`), first
    epoch, overhead (first − steady, and first / steady), set-up, cold start (set-up + first),
    the first step (epoch 1's first training step), samples/s, peaks, and the warning flags.
    Every figure is a median over repeats."""
    ok = trials[trials["status"] == "ok"].reset_index(drop=True)
    grouped = ok.groupby(CONFIG, sort=False, dropna=False)
    table = grouped.agg(
        variant=("variant", "first"),
        n_ok=("trial_id", "size"),
        first_epoch_s=("first_epoch_s", "median"),
        setup_s=("setup_s", "median"),
        first_step_s=("first_step_s", "median"),
        peak_rss_bytes=("peak_rss_bytes", "max"),
        peak_device_bytes=("peak_device_bytes", "max"),
    )
    walls = trial_walls(ok, epochs)
    columns = {c: ok[c].to_numpy() for c in ("steady_epoch_s", "trial_id")}
    positions = [grouped.indices[key] for key in table.index]
    extra = forked.map_chunked(
        lambda i: _config_stats(positions[i], walls, columns), len(positions)
    )
    extra_frame = pd.DataFrame(extra, index=table.index, columns=PER_CONFIG)
    table = pd.concat([table, extra_frame], axis=1).reset_index()
    figures = derived(
        table["first_epoch_s"], table["steady_s"], table["setup_s"], table["samples_per_epoch"]
    )
    table["overhead_s"] = figures["overhead_s"]
    table["overhead_ratio"] = figures["first_over_steady"]
    table["cold_s"] = figures["cold_start_s"]
    table["samples_per_s"] = figures["samples_per_s"]
    table["first_not_slower"] = table["first_epoch_s"] <= table["steady_s"]
    table = table.reindex(columns=CONFIG + STATS)
    table["label"] = config_labels(table) if len(table) else pd.Series(dtype=object)
    return table


PER_CONFIG = [  # the columns `_config_stats` computes, configuration by configuration
    "steady_s",
    "steady_low",
    "steady_high",
    "ci_level",
    "trend_drift",
    "drift_tested",
    "not_steady",
    "final_epoch_excess",
    "final_epoch_slow",
    "outlier_repeats",
]


def trial_walls(ok: pd.DataFrame, epochs: pd.DataFrame) -> list[np.ndarray]:
    """For each row of `ok`, its steady epochs' wall times in epoch order."""
    steady = steady_epochs(epochs)
    steady = steady.assign(k=steady["run_id"] + "\x00" + steady["trial_id"])
    steady = steady.sort_values(["k", "epoch"])
    keys, starts = np.unique(steady["k"].to_numpy(), return_index=True)
    empty = np.array([], dtype=float)
    arrays = (
        dict(zip(keys, np.split(steady["wall_s"].to_numpy(), starts[1:]), strict=True))
        if len(keys)
        else {}
    )
    return [arrays.get(k, empty) for k in ok["run_id"] + "\x00" + ok["trial_id"]]


def _config_stats(pos: np.ndarray, walls: list[np.ndarray], columns: dict) -> dict:
    repeats = columns["steady_epoch_s"][pos]
    est = stats.median_ci(repeats)
    series = [walls[i] for i in pos]
    final = drift.final_epoch(series)
    trend = drift.trend([w[:-1] for w in series] if final.flagged else series)
    out = stats.mad_outliers(repeats)
    return {
        "steady_s": est.value,
        "steady_low": est.low,
        "steady_high": est.high,
        "ci_level": est.level,
        "trend_drift": trend.drift,
        "drift_tested": trend.tested,
        "not_steady": trend.not_steady,
        "final_epoch_excess": final.excess,
        "final_epoch_slow": final.flagged,
        "outlier_repeats": ", ".join(columns["trial_id"][pos][out]) if len(out) else "",
    }
