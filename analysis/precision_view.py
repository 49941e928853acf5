"""The report's precision × framework view, written only when a run holds several precisions.

One row per configuration (its label without the precision, then the precision): the steady
epoch (median over ok repeats) and its ratio to the same configuration's `fp32` row, the first
epoch and the first-epoch overhead (first − steady: autotuning and casts land in epoch 1), the
peak memory, and the training loss of epoch 1 and of the last epoch (medians over repeats), so
that a reader sees whether a low precision still trains. Every figure comes from `summary`'s
configuration table and epochs.csv.
"""

from __future__ import annotations

import pandas as pd

from analysis import doc
from analysis.analyze import Analysis
from analysis.numbers import mib, number, ratio, seconds
from analysis.summary import CONFIG, setting_labels
from bench.core.rules import rule_of
from bench.core.settings import Sweep

# [sweep] precisions as declared, in order of falling width: the first is the reference
ORDER = rule_of(Sweep, "precisions").choices
HEADERS = [
    "configuration",
    "precision",
    "n ok",
    "steady epoch s",
    "steady / fp32",
    "first epoch s",
    "overhead s",
    "peak RSS MiB",
    "peak device MiB",
    "loss epoch 1",
    "final loss",
]


def trial_losses(trials: pd.DataFrame, epochs: pd.DataFrame) -> pd.DataFrame:
    """Per ok trial (CONFIG columns kept): the loss of epoch 1 and of its last epoch."""
    keys = ["run_id", "trial_id"]
    ok = trials[trials["status"] == "ok"]
    ordered = epochs.sort_values([*keys, "epoch"]).groupby(keys)["loss"]
    losses = pd.DataFrame({"loss_first": ordered.first(), "loss_final": ordered.last()})
    return ok[[*dict.fromkeys([*keys, *CONFIG])]].join(losses, on=keys)


def precision_table(a: Analysis) -> pd.DataFrame:
    """The configurations of `a` with their loss medians, a label without the precision and
    the steady ratio to fp32; empty when the runs hold fewer than two precisions."""
    configs = a.configs
    if configs.empty or configs["precision"].nunique() < 2:
        return pd.DataFrame()
    losses = trial_losses(a.trials, a.runs.epochs)
    medians = losses.groupby(CONFIG, sort=False, dropna=False)[["loss_first", "loss_final"]]
    table = configs.merge(medians.median().reset_index(), on=CONFIG, how="left")
    extra = setting_labels(table, exclude=("precision",))
    base = table["model"] + " · " + table["device"] + " · " + table["variant"]
    table["base"] = base.where(extra == "", base + " · " + extra)
    others = [c for c in CONFIG if c != "precision"]
    fp32 = table[table["precision"] == ORDER[0]].set_index(others)["steady_s"]
    table["vs_fp32"] = [
        steady / fp32[key] if key in fp32.index else float("nan")
        for key, steady in zip(
            table[others].itertuples(index=False), table["steady_s"], strict=True
        )
    ]
    first_seen = {b: i for i, b in enumerate(dict.fromkeys(table["base"]))}  # the plan's order
    rank = {p: i for i, p in enumerate(ORDER)}
    table["order"] = table["base"].map(first_seen)
    table["rank"] = table["precision"].map(lambda p: rank.get(p, len(rank)))
    return table.sort_values(["order", "rank"], kind="stable", ignore_index=True)


def precision_blocks(a: Analysis) -> list[doc.Block]:
    """The view's heading, note and table; nothing when the runs hold a single precision."""
    table = precision_table(a)
    if table.empty:
        return []
    rows = [
        [
            r.base,
            r.precision,
            str(r.n_ok),
            seconds(r.steady_s),
            ratio(r.vs_fp32),
            seconds(r.first_epoch_s),
            seconds(r.overhead_s),
            mib(r.peak_rss_bytes),
            mib(r.peak_device_bytes),
            number(r.loss_first, 4),
            number(r.loss_final, 4),
        ]
        for r in table.itertuples(index=False)
    ]
    note = (
        "Each configuration at every precision it ran: steady epoch (median over ok repeats) "
        "and its ratio to the fp32 row; first epoch and first-epoch overhead (first − steady, "
        "where autotuning and casts land); peak memory; the training loss of epoch 1 and of "
        "the last epoch (medians over repeats). settings.csv holds the autocast dtype or Keras "
        "dtype policy each trial ran with."
    )
    return [
        doc.Heading(2, "Precision × framework"),
        doc.Para(note),
        doc.Table(HEADERS, rows, right=set(range(2, len(HEADERS)))),
    ]
