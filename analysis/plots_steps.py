"""Figure 7: epoch 1's steps against the steady band (steps.csv).

One facet per model and device: every ok trial's epoch-1 step times (a line per repeat, by
framework and mode), over each configuration's steady band — the 10–90th percentiles of its
steady steps (epochs 2..E, every repeat pooled) shaded, their median dashed. Where epoch 1's
line enters the band and stays is where its step time settles; the step-based overhead is the
area above the dashed median before that.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from analysis import figkit
from analysis.analyze import Analysis
from analysis.labels import order_devices, order_models, order_variants
from analysis.summary import setting_labels
from bench.contract.steps import BAND, STEADY_FROM

KEYS = ["run_id", "trial_id"]
ABSENT = "no ok trial recorded its steps (runs before schema 6, or [monitor] steps = false)"
CAPTION = (
    "Each ok trial's epoch-1 step times (one line per repeat, coloured by framework and mode) "
    f"against its configuration's steady band: the {BAND[0]:.0%}–{BAND[1]:.0%} percentiles of "
    "every steady step (epochs 2..E, repeats pooled) shaded, their median dashed. The first "
    "steps above the band are the first-epoch overhead in steps; the step-based overhead of the "
    "Steps table sums their excess over the median until 3 steps in a row lie in the band."
)


def _facets(frame: pd.DataFrame, models: list[str]) -> list[tuple[str, str]]:
    """(model, device) facets in model order, CPU before GPUs (as figures 2–3)."""
    present = set(zip(frame["model"], frame["device"], strict=True))
    return [(m, d) for m in models for d in order_devices(frame["device"]) if (m, d) in present]


def _bands(ax, steady: pd.DataFrame, colours: dict, width: float) -> None:
    for (v, _), group in steady.groupby(["variant", "config"], sort=False):
        low, mid, high = np.quantile(group["wall_s"], (BAND[0], 0.5, BAND[1]))
        ax.fill_between([1, width], low, high, color=colours[v], alpha=0.15, lw=0)
        ax.plot([1, width], [mid, mid], color=colours[v], ls="--", lw=1)


def fig_steps(a: Analysis) -> Figure | None:
    steps = a.runs.extra.get("steps.csv")
    ok = a.trials[a.trials["status"] == "ok"]
    if steps is None or steps.empty or ok.empty:
        return None
    ok = ok.assign(config=setting_labels(ok))
    rows = steps.merge(ok[[*KEYS, "model", "device", "variant", "config"]], on=KEYS)
    if rows.empty:
        return None
    rows = rows.sort_values([*KEYS, "epoch", "step"])
    facets = _facets(rows, order_models(ok))
    colours = figkit.palette(order_variants(a.configs["variant"]))
    parts = dict(tuple(rows.groupby(["model", "device"], sort=False)))
    with figkit.style():
        fig, axes = figkit.grid(len(facets), 4.2, 2.6, ncols=3)
        for ax, (model, device) in zip(axes, facets, strict=True):
            sub = parts[(model, device)]
            first = sub[sub["epoch"] == 1]
            _bands(ax, sub[sub["epoch"] >= STEADY_FROM], colours, float(first["step"].max()))
            for v, group in first.groupby("variant", sort=False):
                lines = [g[["step", "wall_s"]].to_numpy() for _, g in group.groupby(KEYS)]
                ax.add_collection(LineCollection(lines, colors=[colours[v]], alpha=0.7, lw=1.1))
            ax.autoscale()
            figkit.maybe_log(ax, sub["wall_s"])
            figkit.facet_title(ax, f"{model} on {device}")
            ax.set_xlabel("step of epoch 1")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_ylabel("step wall time (s)")
        variants = order_variants(rows["variant"])
        handles = [Line2D([], [], color=colours[v], label=v) for v in variants]
        figkit.finish(fig, "Epoch 1's steps against the steady band", handles, "framework / mode")
    return fig
