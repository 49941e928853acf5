"""The report's opening section, **At a glance**: how much slower the first epoch is, in which
framework and mode, and how long it takes from spawn to the end of epoch 1.

One line per (model, device); on it, per framework and mode (and each swept setting), three
medians over ok repeats from the configurations table: first epoch ÷ steady epoch, cold start
(set-up + first epoch: spawn to the end of epoch 1) and the steady epoch. Above the lines, one
sentence names the extremes where there is more than one configuration.
"""

from __future__ import annotations

import pandas as pd

from analysis import doc
from analysis.labels import order_devices, variant_key
from analysis.numbers import ratio, seconds
from analysis.summary import setting_labels

LEGEND = (
    "Per model and device, for each framework and mode: **first epoch ÷ steady epoch** · "
    "**cold start** (spawn to the end of epoch 1) · **steady epoch**; medians over ok repeats, "
    "from the Configurations table below."
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
    """'**seed_cnn on cpu**: torch eager 2.10× · 3.21 s · 812 ms; keras graph ...', models in
    plan order, devices CPU first, variants in the fixed framework/mode order."""
    lines = []
    models = list(dict.fromkeys(frame["model"]))
    for model in models:
        of_model = frame[frame["model"] == model]
        for device in order_devices(of_model["device"]):
            rows = of_model[of_model["device"] == device].itertuples(index=False)
            entries = [
                f"{r.entry} {ratio(r.overhead_ratio)} · {seconds(r.cold_s)} · {seconds(r.steady_s)}"
                for r in sorted(rows, key=lambda r: (*variant_key(r.variant), r.entry))
            ]
            lines.append(f"**{model} on {device}**: " + "; ".join(entries))
    return lines


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
        f"The first epoch costs from {ratio(least.overhead_ratio)} the steady epoch "
        f"({_where(least)}) to {ratio(most.overhead_ratio)} ({_where(most)}); the longest "
        f"wait for the end of epoch 1 is {seconds(slowest.cold_s)} ({_where(slowest)})."
    )


def _where(row: pd.Series) -> str:
    return f"{row['entry']}, {row['model']} on {row['device']}"
