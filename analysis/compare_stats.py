"""The comparison table: align trials across runs (and machines) and test each difference.

Trials are aligned by identity — framework, backend, mode, cache, model, model options, input
shape, batch size and device kind — plus threads, precision, dataset or device index only
where a run holds several configurations under one identity. The first run is the baseline;
for each other run and aligned configuration the table gives the ratio of medians
(other / baseline; above 1 = slower) with a bootstrap 95% CI and a two-sided Mann–Whitney
p-value, for the steady epoch time and the cold start (spawn to the end of epoch 1).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import doc, stats
from analysis.analyze import Analysis
from analysis.labels import fmt, fmt_ci
from analysis.summary import REPEAT_UNIT_MIN, trial_walls

ALPHA = 0.05
MIN_EFFECT = 0.02  # |ratio − 1| below this is never marked, however small p is
BASE_KEY = ["framework", "backend", "mode", "cache", "model", "model_options"]
BASE_KEY += ["input_shape", "batch_size", "device_kind"]
EXTRA_KEY = ["threads", "precision", "dataset", "device"]
METRICS = {"steady_epoch_s": "steady epoch", "cold_s": "cold start"}


def alignment_key(trials: pd.DataFrame) -> list[str]:
    """BASE_KEY (columns present), extended until no run has two configurations per key."""
    key = [c for c in BASE_KEY if c in trials]
    ok = trials[trials["status"] == "ok"]
    for column in EXTRA_KEY:
        if ok.groupby(["run_id", *key], dropna=False)[column].nunique().max() > 1:
            key.append(column)
    return key


def samples(trials: pd.DataFrame, metric: str, by_repeat: bool, walls: dict) -> np.ndarray:
    """The values a metric is compared on: one per repeat, or (steady time with too few
    repeats) every steady epoch of the trials."""
    if by_repeat or metric != "steady_epoch_s":
        return trials[metric].dropna().to_numpy(dtype=float)
    keys = zip(trials["run_id"], trials["trial_id"], strict=True)
    return np.concatenate([walls[k] for k in keys])


def compare_table(a: Analysis) -> pd.DataFrame:
    """One row per (metric, aligned configuration, other run): medians, ratio with CI, p,
    n and unit, and the verdict: 'slower' or 'faster' when significant, 'n.s.' when not,
    'too few' when the samples are too small for the test ever to reach p < ALPHA."""
    ok = a.trials[a.trials["status"] == "ok"]
    key = alignment_key(a.trials)
    base_id, others = a.runs.run_ids[0], a.runs.run_ids[1:]
    groups = {k: g for k, g in ok.groupby(key, sort=False, dropna=False)}
    trial_keys = zip(ok["run_id"], ok["trial_id"], strict=True)
    walls = dict(zip(trial_keys, trial_walls(ok, a.runs.epochs), strict=True))
    rows = []
    for k, group in groups.items():
        base = group[group["run_id"] == base_id]
        for other_id in others:
            other = group[group["run_id"] == other_id]
            if base.empty or other.empty:
                continue
            for metric, name in METRICS.items():
                row = _compare(base, other, metric, walls)
                rows.append(
                    dict(zip(key, k, strict=True)) | {"metric": name, "run": other_id} | row
                )
    table = pd.DataFrame(rows)
    if len(table):
        table.insert(0, "configuration", _labels(table, key))
        order = table["metric"].map(list(METRICS.values()).index)
        table = table.iloc[order.argsort(kind="stable")].reset_index(drop=True)
    return table


def _compare(base: pd.DataFrame, other: pd.DataFrame, metric: str, walls: dict) -> dict:
    by_repeat = min(len(base), len(other)) >= REPEAT_UNIT_MIN or metric != "steady_epoch_s"
    x = samples(base, metric, by_repeat, walls)
    y = samples(other, metric, by_repeat, walls)
    est = stats.ratio_ci(x, y)
    _, p = stats.mann_whitney(x, y)
    significant = (
        p < ALPHA and not est.contains(1.0, rel_tol=0) and abs(est.value - 1) >= MIN_EFFECT
    )
    if significant:
        verdict = "slower" if est.value > 1 else "faster"
    elif stats.smallest_p(len(x), len(y)) >= ALPHA:
        verdict = "too few"  # no untied outcome of the test could reach p < ALPHA
    else:
        verdict = "n.s."
    return {
        "base_median": float(np.median(x)) if len(x) else np.nan,
        "other_median": float(np.median(y)) if len(y) else np.nan,
        "ratio": est.value,
        "ratio_low": est.low,
        "ratio_high": est.high,
        "p": p,
        "n_base": len(x),
        "n_other": len(y),
        "unit": "repeats" if by_repeat else "epochs",
        "significant": bool(significant),
        "verdict": verdict,
    }


def _labels(table: pd.DataFrame, key: list[str]) -> pd.Series:
    from analysis.labels import variant

    def label(r: pd.Series) -> str:
        parts = [r["model"], r["device_kind"], variant(r["framework"], r["backend"], r["mode"])]
        parts += [str(r["input_shape"]), f"b{r['batch_size']}"]
        parts += [f"{c}={r[c]}" for c in key if c in EXTRA_KEY or c == "model_options"]
        parts += [f"{r['cache']} cache"] if "cache" in key and r["cache"] != "cold" else []
        return " · ".join(p for p in parts if p and not p.endswith("="))

    return table.apply(label, axis=1)


def text_rows(table: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    headers = ["metric", "configuration", "run", "base s", "other s", "ratio [95% CI]", "p"]
    headers += ["n (unit)", ""]
    rows = [
        [
            r.metric,
            r.configuration,
            r.run,
            fmt(r.base_median),
            fmt(r.other_median),
            fmt_ci(r.ratio, r.ratio_low, r.ratio_high),
            fmt(r.p),
            f"{r.n_base}/{r.n_other} {r.unit}",
            f"* {r.verdict}" if r.significant else ("too few" if r.verdict == "too few" else ""),
        ]
        for r in table.itertuples(index=False)
    ]
    return headers, rows


def unmatched(a: Analysis) -> list[str]:
    """Aligned configurations that only some runs have."""
    ok = a.trials[a.trials["status"] == "ok"]
    key = alignment_key(a.trials)
    runs_per_key = ok.groupby(key, sort=False, dropna=False)["run_id"].unique().reset_index()
    missing = runs_per_key[runs_per_key["run_id"].map(len) < len(a.runs.run_ids)]
    labels = _labels(missing, key) if len(missing) else []
    return [
        f"{label}: only in {', '.join(ids)}"
        for label, ids in zip(labels, missing["run_id"], strict=True)
    ]


def doc_table(table: pd.DataFrame) -> doc.Table:
    headers, rows = text_rows(table)
    return doc.Table(headers, rows, right={3, 4, 5, 6})
