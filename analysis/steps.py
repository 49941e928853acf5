"""Per-step statistics (steps.csv) for the report and `compare`, by their one definition.

`trial_steps` recomputes each trial's per-step figures from its steps.csv rows
(`bench.contract.steps.step_figures`: the steady steps' p50/p90/p99 and stdev, epoch 1's
step-based overhead and its unsettled steps); `step_configs` gives one row per configuration of
ok trials that recorded steps: each figure's median over repeats, and the two overhead estimates
side by side — step-based and "first − steady epoch" — each with its order-statistic interval
over the repeats (`stats.median_ci`) and the ratio of the two intervals' widths. Runs written
before schema 6, or with `[monitor] steps = false`, have no steps: their rows stay empty.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import doc, stats
from analysis.numbers import level, number, seconds, seconds_interval
from bench.contract.steps import STEP_FIGURES, step_figures

KEYS = ["run_id", "trial_id"]


def trial_steps(steps: pd.DataFrame | None) -> pd.DataFrame:
    """Per (run_id, trial_id): STEP_FIGURES from its steps.csv rows (empty without rows)."""
    index = pd.MultiIndex.from_tuples([], names=KEYS)
    if steps is None or steps.empty:
        return pd.DataFrame(index=index, columns=list(STEP_FIGURES), dtype=float)
    ordered = steps.sort_values([*KEYS, "epoch", "step"])
    walls: dict[tuple[str, str], dict[int, list[float]]] = {}
    columns = (ordered[c].tolist() for c in (*KEYS, "epoch", "wall_s"))
    for run, trial, epoch, wall in zip(*columns, strict=True):
        walls.setdefault((run, trial), {}).setdefault(int(epoch), []).append(float(wall))
    keys = list(walls)
    rows = [step_figures(walls[k]) for k in keys]
    frame = pd.DataFrame(rows, columns=list(STEP_FIGURES), dtype=float)
    frame.index = pd.MultiIndex.from_tuples(keys, names=KEYS)
    return frame


STEP_CONFIG = [
    "n_steps",
    "step_p50_s",
    "step_p90_s",
    "step_p99_s",
    "step_stdev_s",
    "settle_steps",
    "step_overhead_s",
    "step_overhead_low",
    "step_overhead_high",
    "epoch_overhead_s",
    "epoch_overhead_low",
    "epoch_overhead_high",
    "ci_level",
    "width_ratio",
]


def _config_row(group: pd.DataFrame) -> dict[str, float]:
    step = stats.median_ci(group["step_overhead_s"].to_numpy(dtype=float))
    epoch = stats.median_ci(group["overhead_s"].to_numpy(dtype=float))
    step_width, epoch_width = step.high - step.low, epoch.high - epoch.low
    medians = {c: group[c].median() for c in STEP_FIGURES if c != "step_overhead_s"}
    return medians | {
        "n_steps": len(group),
        "step_overhead_s": step.value,
        "step_overhead_low": step.low,
        "step_overhead_high": step.high,
        "epoch_overhead_s": epoch.value,
        "epoch_overhead_low": epoch.low,
        "epoch_overhead_high": epoch.high,
        "ci_level": step.level,
        "width_ratio": epoch_width / step_width if step_width > 0 else np.nan,
    }


def step_configs(trials: pd.DataFrame, configs: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """One row per configuration (of `configs`, in its order, with its label) whose ok trials
    recorded steps: STEP_CONFIG."""
    ok = trials[(trials["status"] == "ok") & trials["step_p50_s"].notna()]
    if ok.empty:
        return pd.DataFrame(columns=["label", *STEP_CONFIG])
    groups = ok.groupby(key, sort=False, dropna=False)
    rows = {k: _config_row(g) for k, g in groups}
    keys = map(tuple, configs[key].itertuples(index=False))
    labels = dict(zip(keys, configs["label"], strict=True))
    out = [{"label": labels[k], **rows[k]} for k in labels if k in rows]
    return pd.DataFrame(out, columns=["label", *STEP_CONFIG])


def step_blocks(table: pd.DataFrame) -> list[doc.Block]:
    """The report's Steps section: per-step statistics and the two overhead estimates."""
    blocks: list[doc.Block] = [doc.Heading(2, "Steps")]
    if table.empty:
        return [
            *blocks,
            doc.Para(
                "No steps recorded: these runs were written before schema 6, or with "
                "[monitor] steps = false."
            ),
        ]
    headers = ["configuration", "n", "step p50", "p90", "p99", "stdev", "unsettled steps"]
    headers += ["step-based overhead [CI]", "first − steady epoch [CI]", "CI level", "width ÷"]
    rows = [
        [
            r.label,
            str(r.n_steps),
            seconds(r.step_p50_s),
            seconds(r.step_p90_s),
            seconds(r.step_p99_s),
            seconds(r.step_stdev_s),
            "—" if np.isnan(r.settle_steps) else f"{r.settle_steps:g}",
            seconds_interval(r.step_overhead_s, r.step_overhead_low, r.step_overhead_high),
            seconds_interval(r.epoch_overhead_s, r.epoch_overhead_low, r.epoch_overhead_high),
            level(r.ci_level),
            number(r.width_ratio, 2),
        ]
        for r in table.itertuples(index=False)
    ]
    return [*blocks, doc.Para(STEPS_TEXT), doc.Table(headers, rows, right=set(range(1, 11)))]


STEPS_TEXT = (
    "Per configuration, medians over ok repeats of each trial's steady steps (every step of "
    "epochs 2..E, steps.csv): median, 90th and 99th percentile, standard deviation; the steps "
    "of epoch 1 before its step time settles (3 steps in a row at or below the steady p90); the "
    "step-based first-epoch overhead — epoch 1's excess over the steady per-step median, summed "
    "over those steps — beside first − steady epoch, each with its order-statistic interval "
    "over the repeats; 'width ÷' is the epoch-based interval's width over the step-based one's."
)
