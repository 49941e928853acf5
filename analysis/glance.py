"""The report's opening section, **At a glance**: what the first epoch costs, in words, in
each framework and mode, and how long it takes from spawn to the end of epoch 1.

One sentence per configuration (model, device, framework and mode, each swept setting), from
the configurations table's medians over ok repeats: "torch eager, seed_cnn on cpu: epoch 1 costs
+1.39 s over a steady epoch (10.3×); cold start 6.55 s; steady epoch 150 ms" — and where epoch 1
was no slower, "no first-epoch overhead measurable". Above them, one sentence names the
extremes where there is more than one configuration.
"""

from __future__ import annotations

import pandas as pd

from analysis import doc
from analysis.labels import order_devices, variant_key
from analysis.numbers import ratio, seconds
from analysis.summary import setting_labels

LEGEND = (
    "What epoch 1 costs over a steady epoch (the **first-epoch overhead**, and first ÷ steady), "
    "the **cold start** (spawn to the end of epoch 1) and the **steady epoch**, per "
    "configuration; medians over ok repeats, from the Configurations table below."
)


def glance_blocks(configs: pd.DataFrame) -> list[doc.Block]:
    """The section's paragraphs and lines (without its heading)."""
    if configs.empty:
        return [doc.Para("No configuration finished ok; the Warnings and Trials below say why.")]
    frame = configs.assign(entry=_names(configs))
    blocks: list[doc.Block] = [doc.Para(LEGEND)]
    if extremes := extremes_sentence(frame):
        blocks.append(doc.Para(extremes))
    return [*blocks, doc.Bullets(glance_lines(frame))]


def _names(configs: pd.DataFrame) -> pd.Series:
    """'torch eager', or 'torch eager b32' where a setting varies between configurations."""
    settings = setting_labels(configs, sep=" ")
    return configs["variant"].where(settings == "", configs["variant"] + " " + settings)


def glance_lines(frame: pd.DataFrame) -> list[str]:
    """One sentence per configuration, models in plan order, devices CPU first, variants in the
    fixed framework/mode order."""
    lines = []
    for model in dict.fromkeys(frame["model"]):
        of_model = frame[frame["model"] == model]
        for device in order_devices(of_model["device"]):
            rows = of_model[of_model["device"] == device].itertuples(index=False)
            for r in sorted(rows, key=lambda r: (*variant_key(r.variant), r.entry)):
                lines.append(f"**{r.entry}, {model} on {device}**: {_costs(r)}")
    return lines


def _costs(r: object) -> str:
    """'epoch 1 costs +1.39 s over a steady epoch (10.3×); cold start 6.55 s; steady epoch
    150 ms', or 'no first-epoch overhead measurable (...)' where epoch 1 was no slower."""
    overhead, steady = getattr(r, "overhead_s", None), seconds(r.steady_s)
    tail = f"cold start {seconds(r.cold_s)}; steady epoch {steady}"
    if overhead is None or pd.isna(overhead):
        return f"no first epoch measured; {tail}"
    if overhead <= 0:
        return f"no first-epoch overhead measurable (epoch 1 {seconds(-overhead)} faster); {tail}"
    return (
        f"epoch 1 costs +{seconds(overhead)} over a steady epoch ({ratio(r.overhead_ratio)}); "
        f"{tail}"
    )


def extremes_sentence(frame: pd.DataFrame) -> str:
    """Where the first epoch costs most and least relative to a steady one, and the longest
    cold start; empty unless configurations differ in first epoch ÷ steady."""
    known = frame.dropna(subset=["overhead_ratio", "cold_s"])
    if len(known) < 2 or known["overhead_ratio"].nunique() < 2:
        return ""
    most = known.loc[known["overhead_ratio"].idxmax()]
    least = known.loc[known["overhead_ratio"].idxmin()]
    slowest = known.loc[known["cold_s"].idxmax()]
    return (
        f"Epoch 1 takes from {ratio(least.overhead_ratio)} a steady epoch "
        f"({_where(least)}) to {ratio(most.overhead_ratio)} ({_where(most)}); the longest "
        f"wait for the end of epoch 1 is {seconds(slowest.cold_s)} ({_where(slowest)})."
    )


def _where(row: pd.Series) -> str:
    return f"{row['entry']}, {row['model']} on {row['device']}"
