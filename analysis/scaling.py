"""Data-parallel scaling: each data-parallel configuration beside its single-device twin.

A data-parallel configuration (`parallel = data`, `world_size` N) is paired with the single
configuration that differs from it only in `parallel`, `world_size` and `samples_per_epoch`
(each rank trains the single trial's samples per epoch). Every figure is a median over the ok
repeats (the configuration table's):

- speedup = N × single steady epoch / data-parallel steady epoch (samples/s ratio: N at
  perfect scaling); scaling efficiency = speedup / N (1 = perfect);
- the distributed part of first-epoch overhead: the `dist_init` and `wrap` phases (rank 0's:
  they include waiting for the slowest rank to arrive), and the first step's and the
  overhead's excess over the single twin's;
- straggler wait: per steady epoch the longest wait of any rank at the end-of-epoch barrier
  (ranks.csv), the median over epochs and then over repeats.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from analysis import doc
from analysis.numbers import percent, ratio, seconds
from analysis.summary import CONFIG, setting_labels

if TYPE_CHECKING:
    from analysis.analyze import Analysis

PAIRED_BY = [c for c in CONFIG if c not in ("parallel", "world_size", "samples_per_epoch")]
COLUMNS = [
    "configuration",
    "world_size",
    "single_steady_s",
    "data_steady_s",
    "speedup",
    "efficiency",
    "dist_init_s",
    "wrap_s",
    "first_step_excess_s",
    "overhead_excess_s",
    "straggler_wait_s",
]


def _per_trial(trials: pd.DataFrame, phases: pd.DataFrame, ranks: pd.DataFrame) -> pd.DataFrame:
    """Ok trials with their dist_init, wrap and first_step seconds and straggler wait."""
    ok = trials[trials["status"] == "ok"]
    keys = ["run_id", "trial_id"]
    wide = phases[phases["phase"].isin(["dist_init", "wrap", "first_step"])].pivot_table(
        index=keys, columns="phase", values="duration_s", aggfunc="sum"
    )
    wide = wide.reindex(columns=["dist_init", "wrap", "first_step"])
    steady = ranks[ranks["epoch"] >= 2]
    longest = steady.groupby([*keys, "epoch"])["barrier_wait_s"].max()
    straggler = longest.groupby(keys).median().rename("straggler")
    return ok.join(wide, on=keys).join(straggler, on=keys)


def scaling_table(
    trials: pd.DataFrame, configs: pd.DataFrame, phases: pd.DataFrame, ranks: pd.DataFrame
) -> pd.DataFrame:
    """One row per data-parallel configuration that has a single twin (COLUMNS)."""
    if "parallel" not in configs or not (configs["parallel"] == "data").any():
        return pd.DataFrame(columns=COLUMNS)
    per = _per_trial(trials, phases, ranks)
    medians = per.groupby(CONFIG, sort=False, dropna=False)[
        ["dist_init", "wrap", "first_step", "straggler"]
    ].median()
    cfg = configs.join(medians, on=CONFIG)
    extra = setting_labels(cfg, exclude=("parallel", "world_size", "samples_per_epoch"))
    base = cfg["model"] + " · " + cfg["device"] + " · " + cfg["variant"]
    cfg["label"] = base.where(extra == "", base + " · " + extra)
    single = cfg[cfg["parallel"] == "single"].set_index(PAIRED_BY)
    rows = []
    for r in cfg[cfg["parallel"] == "data"].itertuples(index=False):
        key = tuple(getattr(r, c) for c in PAIRED_BY)
        if key not in single.index:
            continue
        twin = single.loc[[key]].iloc[0]
        n = int(r.world_size)
        speedup = n * twin["steady_s"] / r.steady_s
        rows.append(
            [
                twin["label"],
                n,
                twin["steady_s"],
                r.steady_s,
                speedup,
                speedup / n,
                r.dist_init,
                r.wrap,
                r.first_step - twin["first_step"],
                r.overhead_s - twin["overhead_s"],
                r.straggler,
            ]  # fmt: skip
        )
    return pd.DataFrame(rows, columns=COLUMNS)


HEADERS = [
    "configuration (single)",
    "N",
    "single steady epoch",
    "data-parallel steady epoch",
    "speedup",
    "scaling efficiency",
    "dist_init",
    "wrap",
    "first step excess",
    "overhead excess",
    "straggler wait",
]


def scaling_blocks(a: Analysis) -> list[doc.Block]:
    """The report's data-parallel section; nothing when no configuration ran data-parallel."""
    ranks = a.runs.extra.get("ranks.csv", pd.DataFrame(columns=["run_id", "trial_id", "epoch"]))
    table = scaling_table(a.trials, a.configs, a.runs.phases, ranks)
    if "parallel" not in a.configs or not (a.configs["parallel"] == "data").any():
        return []
    blocks: list[doc.Block] = [doc.Heading(2, "Data-parallel scaling")]
    if table.empty:
        return blocks + [doc.Para(
            "Not computed: no data-parallel configuration has an ok single-device twin "
            '(add "single" to [sweep] parallel).'
        )]  # fmt: skip
    rows = [
        [
            r[0],
            str(r[1]),
            *(seconds(v) for v in r[2:4]),
            ratio(r[4]),
            percent(r[5]),
            *(seconds(v) for v in r[6:]),
        ]  # fmt: skip
        for r in table.itertuples(index=False)
    ]
    note = doc.Para(
        "Speedup = N × single steady epoch / data-parallel steady epoch (each rank trains the "
        "single trial's samples, so this is the samples/s ratio; N at perfect scaling); scaling "
        "efficiency = speedup / N. dist_init and wrap are rank 0's phases (they include waiting "
        "for the slowest rank); the excesses are over the single twin's first step and "
        "first-epoch overhead; straggler wait: the longest barrier wait of any rank per steady "
        "epoch, median over epochs and repeats."
    )
    return [*blocks, doc.Table(HEADERS, rows, right=set(range(1, len(HEADERS)))), note]
