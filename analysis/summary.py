"""Derived tables, recomputed from raw rows: one row per trial, one per configuration.

A *configuration* is one run's trials that differ only in `repeat` (its identity columns are
`bench.core.schema.IDENTITY_COLUMNS`). Only trials with status `ok` enter a statistic; the
others are listed, never averaged. The repeat — a fresh process, one value each — is the unit:
a configuration's steady epoch time is the median of its repeats' steady times, with the
order-statistic interval at the confidence its repeat count reaches (`stats.median_ci`).
Numbers in a row add up: overhead = first epoch − steady epoch and cold start = set-up + first
epoch, each a median over repeats.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import drift, stats
from analysis.labels import SETUP_PHASES, device_kind, variant
from analysis.load import Runs
from bench.core.schema import IDENTITY_COLUMNS, TrialRow, columns

IDENTITY = ("run_id", *IDENTITY_COLUMNS)
# recomputed here from raw rows; trials.csv's own copies are dropped
HEADLINE = (
    "setup_s",
    "first_step_s",
    "first_epoch_s",
    "steady_epoch_s",
    "first_epoch_overhead_s",
    "samples_per_s",
    "peak_rss_bytes",
    "peak_device_bytes",
)
CONFIG = [c for c in IDENTITY if c in columns(TrialRow)]
# identity columns other than model, device and variant, as they appear in labels
SETTING_PREFIX = {"batch_size": "b", "threads": "t", "run_id": "", "input_shape": "", "cache": ""}
SETTING_PREFIX |= {"precision": ""}  # "bf16"; autotune reads "autotune=on"
SETTINGS = [
    c for c in CONFIG if c not in ("model", "device", "framework", "backend", "mode", "device_name")
]


def setting_labels(
    frame: pd.DataFrame, exclude: tuple[str, ...] = (), sep: str = " · "
) -> pd.Series:
    """'b32 · t1': the settings (SETTINGS) that vary between the rows of `frame`."""
    varying = [c for c in SETTINGS if c not in exclude and frame[c].nunique() > 1]
    if not varying or frame.empty:
        return pd.Series("", index=frame.index, dtype=object)
    parts = [
        frame[c].astype(str).map(lambda v, c=c: f"{SETTING_PREFIX.get(c, c + '=')}{v}" if v else "")
        for c in varying
    ]
    joined = pd.concat(parts, axis=1).apply(lambda r: sep.join(x for x in r if x), axis=1)
    return joined.astype(object)


def config_labels(frame: pd.DataFrame) -> pd.Series:
    """'seed_cnn · cpu · torch eager · b32': model, device, variant and the varying settings."""
    base = frame["model"] + " · " + frame["device"] + " · " + frame["variant"]
    extra = setting_labels(frame)
    return base.where(extra == "", base + " · " + extra)


def trial_table(runs: Runs) -> pd.DataFrame:
    """One row per trial (every status): identity, status, error, and for ok trials the
    figures from raw rows — setup_s, first_step_s, first_epoch_s, steady_epoch_s, overhead_s,
    overhead_ratio, cold_s, samples_per_s, peaks, n_steady and the flagged outlier epochs."""
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
    setup = runs.phases[runs.phases["phase"].isin(SETUP_PHASES)]
    setup = setup.groupby(keys)["duration_s"].sum().rename("setup_s")
    first_step = runs.phases[runs.phases["phase"] == "first_step"]
    first_step = first_step.groupby(keys)["duration_s"].sum().rename("first_step_s")
    table = trials.join(setup, on=keys).join(first_step, on=keys)
    table = table.join(_epoch_figures(runs.epochs), on=keys)
    not_ok = table["status"] != "ok"
    derived = [c for c in table.columns if c not in trials.columns]
    table.loc[not_ok, derived] = np.nan
    table["cold_s"] = table["setup_s"] + table["first_epoch_s"]
    flags = table["outlier_epochs"].astype(object)
    table["outlier_epochs"] = flags.where(flags.notna(), "")
    return table.sort_values(["run_id", "order"], ignore_index=True)


def _epoch_figures(epochs: pd.DataFrame) -> pd.DataFrame:
    keys = ["run_id", "trial_id"]
    grouped = epochs.groupby(keys)
    first = epochs[epochs["epoch"] == 1].set_index(keys)["wall_s"].rename("first_epoch_s")
    steady = steady_epochs(epochs)
    by_trial = steady.groupby(keys)
    out = pd.DataFrame(
        {
            "steady_epoch_s": by_trial["wall_s"].median(),
            "n_steady": by_trial["wall_s"].size(),
            "steady_samples": by_trial["samples"].median(),
        }
    ).join(first, how="outer")
    out["overhead_s"] = out["first_epoch_s"] - out["steady_epoch_s"]
    out["overhead_ratio"] = out["first_epoch_s"] / out["steady_epoch_s"]
    out["samples_per_s"] = out["steady_samples"] / out["steady_epoch_s"]
    out["peak_rss_bytes"] = grouped["peak_rss_bytes"].max().astype(float)
    out["peak_device_bytes"] = grouped["peak_device_bytes"].max().astype(float)
    flagged = steady[outlier_mask(steady)]
    out["outlier_epochs"] = flagged.groupby(keys)["epoch"].agg(lambda e: ", ".join(map(str, e)))
    return out.drop(columns="steady_samples")


def steady_epochs(epochs: pd.DataFrame) -> pd.DataFrame:
    """Epochs 2..E: the steady state."""
    return epochs[epochs["epoch"] >= 2]


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
    positions = grouped.indices
    extra = [_config_stats(positions[key], walls, columns) for key in table.index]
    extra_frame = pd.DataFrame(extra, index=table.index, columns=PER_CONFIG)
    table = pd.concat([table, extra_frame], axis=1).reset_index()
    table["overhead_s"] = table["first_epoch_s"] - table["steady_s"]
    table["overhead_ratio"] = table["first_epoch_s"] / table["steady_s"]
    table["cold_s"] = table["setup_s"] + table["first_epoch_s"]
    table["samples_per_s"] = table["samples_per_epoch"] / table["steady_s"]
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
