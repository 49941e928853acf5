"""The comparison table: align trials across runs (and machines) and test each difference.

Trials are aligned by identity — every column of `bench.contract.schema.IDENTITY_COLUMNS`, with the
device kind standing in for the machine-dependent ones (`MACHINE_COLUMNS`: device index and
name, threads, data set path), which join the key only where a run holds several
configurations under one identity. The first run is the baseline. For each other run, aligned
configuration and metric (steady epoch time, first-epoch overhead = first − steady epoch of
the same process, the step-based overhead of steps.csv where both runs recorded steps,
cold start = spawn to the end of epoch 1) the unit is the repeat — one value
per fresh process, never pooled epochs: the ratio of medians (other / baseline; above 1 =
slower) with Welch's t-test on log times — its 95% CI and its two-sided p, so the interval and
the p agree — and that p adjusted by Benjamini–Hochberg over every row of the table that has a
test. A row is tested only with at least `stats.VERDICT_REPEATS` repeats on both sides; a ratio
needs positive values: a row where some repeat's overhead is ≤ 0 (its first epoch was no slower
than its steady one) gets no test and no verdict. Runs are named by their folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis import doc, stats
from analysis.analyze import Analysis
from analysis.labels import variant
from analysis.numbers import p_value, ratio, ratio_interval, seconds
from bench.contract.schema import IDENTITY_COLUMNS, MACHINE_COLUMNS

ALPHA = stats.ALPHA
MIN_EFFECT = 0.02  # |ratio − 1| below this is never marked, however small p is
METRICS = {
    "steady_epoch_s": "steady epoch",
    "overhead_s": "first-epoch overhead",
    "step_overhead_s": "step-based overhead",
    "cold_s": "cold start",
}
NOT_POSITIVE = "no verdict: a repeat ≤ 0"
LABELLED = ("model", "device_kind", "framework", "backend", "mode", "input_shape", "batch_size")


def alignment_key(
    trials: pd.DataFrame, within: str = "run_id", loose: tuple[str, ...] = MACHINE_COLUMNS
) -> list[str]:
    """Identity columns (device kind for the machine's), extended by each `loose` machine
    column under which some run (or other group: `within`) holds several configurations.
    The fleet view groups by machine and leaves the device columns out of `loose`."""
    key = [c for c in IDENTITY_COLUMNS if c not in MACHINE_COLUMNS and c in trials]
    key.append("device_kind")
    ok = trials[trials["status"] == "ok"]
    for column in loose:
        if ok.groupby([within, *key], dropna=False)[column].nunique().max() > 1:
            key.append(column)
    return key


def compare_table(a: Analysis) -> pd.DataFrame:
    """One row per (aligned configuration, other run, metric) — see `compare_trials` — with
    each run named by its folder (`run_labels`)."""
    table = compare_trials(a.trials, a.runs.run_ids)
    if table.empty:
        return table
    return table.assign(run=table["run"].map(run_labels(a.runs)))


def run_labels(runs) -> dict[str, str]:
    """Run id → the name of its folder (what a user typed); the run ids themselves where two
    folders have the same name or the folders are not known."""
    ids = runs.run_ids
    paths = runs.runs.get("path")
    names = ids if paths is None else [Path(p).name for p in paths]
    return dict(zip(ids, names if len(set(names)) == len(names) else ids, strict=True))


def compare_trials(trials: pd.DataFrame, run_ids: list[str]) -> pd.DataFrame:
    """One row per (aligned configuration, other run, metric): medians, ratio with CI, p and
    BH-adjusted p, repeats per side, and the verdict: 'slower' or 'faster' when significant,
    'n.s.' when not, 'no verdict: N repeats' when a side has fewer than VERDICT_REPEATS,
    NOT_POSITIVE when a repeat's value is ≤ 0 (no ratio to test)."""
    key = alignment_key(trials)
    ok = trials.loc[trials["status"] == "ok", [*key, "run_id", *METRICS]].reset_index(drop=True)
    values = {metric: ok[metric].to_numpy(dtype=float) for metric in METRICS}
    base_id, others = run_ids[0], run_ids[1:]
    rows, pairs = [], []
    for k, by_run in _positions(ok, key).items():
        if base_id not in by_run:
            continue
        for other_id in (r for r in others if r in by_run):
            for metric, name in METRICS.items():
                x, y = (_present(values[metric][by_run[r]]) for r in (base_id, other_id))
                if not len(x) and not len(y):  # not recorded (steps: before schema 6, or off)
                    continue
                rows.append(dict(zip(key, k, strict=True)) | {"metric": name, "run": other_id})
                pairs.append((x, y))
    if not rows:
        return pd.DataFrame()
    table = pd.concat([pd.DataFrame(rows), compare_values(pairs)], axis=1)
    table.insert(0, "configuration", configuration_labels(table, key, ok))
    return decide(table)


def _positions(ok: pd.DataFrame, key: list[str]) -> dict[tuple, dict[str, np.ndarray]]:
    """Aligned configuration → run id → the row positions of its trials in `ok`, in the order
    the configurations first appear (one groupby; a loop over groups costs ~1 ms each)."""
    groups = ok.groupby([*key, "run_id"], sort=False, dropna=False).indices
    out: dict[tuple, dict[str, np.ndarray]] = {}
    for k, pos in sorted(groups.items(), key=lambda item: item[1][0]):
        out.setdefault(k[:-1], {})[k[-1]] = pos
    return out


def _present(values: np.ndarray) -> np.ndarray:
    return values[~np.isnan(values)]


def compare_values(pairs: list[tuple[np.ndarray, np.ndarray]]) -> pd.DataFrame:
    """For each (baseline, other) pair of per-repeat values: medians, ratio with its CI,
    Welch's p (NaN where a side has fewer than VERDICT_REPEATS or a value is ≤ 0), repeat
    counts, `positive` (every value > 0) and `testable`. Pairs of equal sizes go to scipy
    together, one call per size."""
    out = {c: np.full(len(pairs), np.nan) for c in COLUMNS}
    out |= {"n_base": np.zeros(len(pairs), int), "n_other": np.zeros(len(pairs), int)}
    out |= {"testable": np.zeros(len(pairs), bool), "positive": np.zeros(len(pairs), bool)}
    sizes = pd.Series([(len(x), len(y)) for x, y in pairs])
    for (n1, n2), idx in sizes.groupby(sizes).indices.items():
        x = np.array([pairs[i][0] for i in idx]).reshape(len(idx), n1)
        y = np.array([pairs[i][1] for i in idx]).reshape(len(idx), n2)
        positive = (x > 0).all(axis=1) & (y > 0).all(axis=1)
        testable = enough_repeats(n1, n2) & positive
        block = {"n_base": n1, "n_other": n2, "testable": testable, "positive": positive}
        if n1 and n2:
            test = stats.ratio_tests(x, y)
            block |= {"base_median": np.median(x, axis=1), "other_median": np.median(y, axis=1)}
            block |= {"ratio": np.where(positive, test.ratio, np.nan), "ratio_low": test.low}
            block |= {"ratio_high": test.high, "p": np.where(testable, test.p, np.nan)}
        for column, values in block.items():
            out[column][idx] = values
    return pd.DataFrame(out)


COLUMNS = ["base_median", "other_median", "ratio", "ratio_low", "ratio_high", "p"]


def enough_repeats(n_base: int, n_other: int) -> bool:
    """Both sides have at least VERDICT_REPEATS repeats: the least that gets a verdict."""
    return min(n_base, n_other) >= stats.VERDICT_REPEATS


def significant_rows(table: pd.DataFrame, p: object) -> np.ndarray:
    """p < ALPHA, the CI excludes 1 and the ratio differs from 1 by at least MIN_EFFECT."""
    p = np.asarray(p, dtype=float)
    outside = (table["ratio_low"] > 1) | (table["ratio_high"] < 1)
    effect = (table["ratio"] - 1).abs() >= MIN_EFFECT
    return np.asarray((p < ALPHA) & outside & effect, dtype=bool)


def decide(table: pd.DataFrame, family: list[str] | None = None) -> pd.DataFrame:
    """Add p_adj (Benjamini–Hochberg over the rows with a test: the whole table, or each group
    of rows sharing the `family` columns — one simulated comparison each), `significant` and
    `verdict`."""
    p = table["p"]
    if family is None:
        table = table.assign(p_adj=stats.adjust_p(p))
    else:
        by = [table[c] for c in family]
        table = table.assign(p_adj=p.groupby(by, sort=False).transform(stats.adjust_p))
    significant = significant_rows(table, table["p_adj"])
    faster = np.where(table["ratio"] > 1, "slower", "faster")
    verdict = np.where(significant, faster, "n.s.")
    untested = [
        NOT_POSITIVE if enough_repeats(b, o) else f"no verdict: {_repeats(b, o)}"
        for b, o in zip(table["n_base"], table["n_other"], strict=True)
    ]
    verdict = np.where(table["testable"], verdict, untested)
    return table.assign(significant=significant, verdict=verdict)


def _repeats(n_base: int, n_other: int) -> str:
    n = f"{n_base}" if n_base == n_other else f"{n_base}/{n_other}"
    return f"{n} repeat{'' if n == '1' else 's'}"


def configuration_labels(table: pd.DataFrame, key: list[str], reference: pd.DataFrame) -> pd.Series:
    """'seed_cnn · cpu · torch eager · 32x32x3 · b64 · pipeline=loader': model, device kind,
    variant, input shape, batch, and the key's other columns that vary in `reference` (every
    machine column in the key; model options and a warm cache whenever set)."""
    shown = [
        c
        for c in key
        if c not in LABELLED
        and (c in MACHINE_COLUMNS or c == "model_options" or reference[c].nunique() > 1)
        and c != "cache"
    ]

    def label(r: dict) -> str:
        parts = [r["model"], r["device_kind"], variant(r["framework"], r["backend"], r["mode"])]
        parts += [str(r["input_shape"]), f"b{r['batch_size']}"]
        parts += [f"{c}={r[c]}" for c in shown if str(r[c]) != ""]
        parts += [f"{r['cache']} cache"] if "cache" in key and r["cache"] != "cold" else []
        return " · ".join(p for p in parts if p)

    records = table[list(dict.fromkeys([*LABELLED, *shown, *key]))].to_dict("records")
    return pd.Series([label(r) for r in records], index=table.index, dtype=object)


HEADERS = ["metric", "configuration", "run", "baseline median", "run median"]
HEADERS += ["ratio [95% CI]", "p", "p (BH)", "repeats", "verdict"]


def _ratio_text(r: Any) -> str:
    """The ratio with its 95% CI; the ratio alone where a side has too few repeats for a
    verdict — an interval from 2 or 3 values spans orders of magnitude and says nothing."""
    if str(r.verdict).startswith("no verdict"):
        return ratio(r.ratio)
    return ratio_interval(r.ratio, r.ratio_low, r.ratio_high)


def text_rows(table: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Every column headed; the verdict `* slower`, `* faster`, `n.s.` or `no verdict: ...`."""
    rows = [
        [
            r.metric,
            r.configuration,
            r.run,
            seconds(r.base_median),
            seconds(r.other_median),
            _ratio_text(r),
            p_value(r.p),
            p_value(r.p_adj),
            f"{r.n_base}/{r.n_other}",
            f"* {r.verdict}" if r.significant else r.verdict,
        ]
        for r in table.itertuples(index=False)
    ]
    return list(HEADERS), rows


def unmatched(a: Analysis) -> list[str]:
    """Aligned configurations that only some runs have."""
    ok = a.trials[a.trials["status"] == "ok"]
    key = alignment_key(a.trials)
    runs_per_key = ok.groupby(key, sort=False, dropna=False)["run_id"].unique().reset_index()
    missing = runs_per_key[runs_per_key["run_id"].map(len) < len(a.runs.run_ids)]
    labels = configuration_labels(missing, key, ok) if len(missing) else []
    names = run_labels(a.runs)
    return [
        f"{label}: only in {', '.join(names[i] for i in ids)}"
        for label, ids in zip(labels, missing["run_id"], strict=True)
    ]


def doc_table(table: pd.DataFrame) -> doc.Table:
    headers, rows = text_rows(table)
    return doc.Table(headers, rows, right={3, 4, 5, 6, 7})
