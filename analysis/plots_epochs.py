"""Figure 3: every epoch's wall time.

Up to MAX_FACETS model × device facets, one facet each: one line per ok trial, or — in a facet
of more than MAX_LINES trials — each configuration's median line and 10–90% band. With more
facets than that the grid is unreadable (30 facets of 20 epochs each) and costs seconds to draw,
so the figure summarises before drawing: one panel of every configuration's median epoch time
divided by its own steady epoch (the median of epochs 2..E), a thin line each, and per
framework / mode the median over its configurations as a thick line. Epoch 1 stands out by its
overhead ratio; a line that keeps falling or rising after epoch 2 was not yet steady.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from analysis import figkit
from analysis.analyze import Analysis
from analysis.figkit import KEYS, facet_order
from analysis.labels import order_models, order_variants
from analysis.summary import setting_labels

MAX_LINES = 40  # trials in one facet drawn as lines; more → each configuration's median and band
MAX_FACETS = 12  # model × device facets drawn one each; more → one summary panel
TITLE = "Every epoch's wall time (epoch 1 includes its first step)"


def fig_epochs(a: Analysis) -> Figure | None:
    """3. Wall time of every epoch, faceted by model × device, or summarised in one panel."""
    ok = a.trials[a.trials["status"] == "ok"]
    if ok.empty:
        return None
    ok = ok.assign(config=setting_labels(ok))
    cols = [*KEYS, "model", "device", "variant", "config", "repeat"]
    epochs = a.runs.epochs[[*KEYS, "epoch", "wall_s"]].merge(ok[cols], on=KEYS)
    epochs = epochs.sort_values([*KEYS, "epoch"])
    facets = facet_order(ok, order_models(a.trials))
    variants = order_variants(ok["variant"])
    colours = figkit.palette(order_variants(a.configs["variant"]))
    handles = [Line2D([], [], color=colours[v], label=v) for v in variants]
    with figkit.style():
        if len(facets) > MAX_FACETS:
            fig, title = _relative_panel(epochs, variants, colours, len(facets))
        else:
            fig, title = _facets(epochs, facets, colours), TITLE
        figkit.finish(fig, title, handles, "framework / mode")
    return fig


def _facets(epochs: pd.DataFrame, facets: list[tuple[str, str]], colours: dict) -> Figure:
    parts = dict(tuple(epochs.groupby(["model", "device"], sort=False)))
    fig, axes = figkit.grid(len(facets), 4.2, 2.6, ncols=3)
    for ax, (model, device) in zip(axes, facets, strict=True):
        sub = parts[(model, device)]
        if sub["trial_id"].nunique() <= MAX_LINES:
            _trial_lines(ax, sub, colours)
        else:
            _config_bands(ax, sub, colours)
        figkit.maybe_log(ax, sub["wall_s"])
        figkit.facet_title(ax, f"{model} on {device}")
        _epoch_axis(ax)
        ax.set_ylabel("epoch wall time (s)")
    return fig


def _epoch_axis(ax) -> None:
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def relative_lines(epochs: pd.DataFrame) -> pd.DataFrame:
    """Per configuration (model, device, variant, settings) and epoch: the median wall time over
    repeats divided by the configuration's steady epoch (the median of its epochs 2..E)."""
    group = ["model", "device", "variant", "config"]
    line = epochs.groupby([*group, "epoch"], sort=False)["wall_s"].median().reset_index()
    later = line[line["epoch"] >= 2]
    steady = later.groupby(group, sort=False)["wall_s"].median().rename("steady_s")
    line = line.merge(steady.reset_index(), on=group, how="inner")
    line = line[line["steady_s"] > 0]
    return line.assign(ratio=line["wall_s"] / line["steady_s"]).sort_values([*group, "epoch"])


def _relative_panel(
    epochs: pd.DataFrame, variants: list, colours: dict, n_facets: int
) -> tuple[Figure, str]:
    line = relative_lines(epochs)
    fig, (ax,) = figkit.grid(1, 8.0, 4.2, ncols=1)
    keys = ["model", "device", "variant", "config"]
    for v in variants:
        sub = line[line["variant"] == v]
        if sub.empty:
            continue
        segments = [g[["epoch", "ratio"]].to_numpy() for _, g in sub.groupby(keys, sort=False)]
        ax.add_collection(LineCollection(segments, colors=[colours[v]], alpha=0.15, lw=0.6))
        middle = sub.groupby("epoch")["ratio"].median()
        ax.plot(middle.index, middle.to_numpy(), color=colours[v], lw=2.2)
    ax.autoscale()
    ax.axhline(1.0, color="black", lw=0.8, ls=":")
    figkit.maybe_log(ax, line["ratio"])
    _epoch_axis(ax)
    ax.set_ylabel("epoch time ÷ steady epoch")
    n_configs = line[["model", "device", "variant", "config"]].drop_duplicates().shape[0]
    return fig, (
        "Every epoch's wall time ÷ its configuration's steady epoch (epoch 1 includes its "
        f"first step)\n{n_configs} configurations (thin lines), the median per framework / "
        f"mode (thick);\none panel: {n_facets} model × device facets are too many to draw"
    )


def _trial_lines(ax, sub: pd.DataFrame, colours: dict) -> None:
    for v, group in sub.groupby("variant"):
        lines = [g[["epoch", "wall_s"]].to_numpy() for _, g in group.groupby(KEYS)]
        ax.add_collection(LineCollection(lines, colors=[colours[v]], alpha=0.6, lw=1.2))
        ax.scatter(group["epoch"], group["wall_s"], s=6, color=colours[v])
    ax.autoscale()


def _config_bands(ax, sub: pd.DataFrame, colours: dict) -> None:
    """Per configuration: the median epoch time and its 10–90% band across repeats."""
    wall = sub.pivot_table(index=["variant", "config", "epoch"], columns="repeat", values="wall_s")
    q = row_quantiles(wall.to_numpy(), (0.1, 0.5, 0.9))
    variant = wall.index.get_level_values(0).to_numpy()
    config = wall.index.get_level_values(1).to_numpy()
    x = wall.index.get_level_values(2).to_numpy(dtype=float)
    same = (variant[1:] == variant[:-1]) & (config[1:] == config[:-1])
    lines: dict[str, list] = {}
    bands: dict[str, list] = {}
    for seg in np.split(np.arange(len(x)), np.flatnonzero(~same) + 1):
        v = variant[seg[0]]
        lines.setdefault(v, []).append(np.column_stack([x[seg], q[seg, 1]]))
        low, high = np.column_stack([x[seg], q[seg, 0]]), np.column_stack([x[seg], q[seg, 2]])
        bands.setdefault(v, []).append(np.vstack([low, high[::-1]]))
    for v in lines:
        ax.add_collection(PolyCollection(bands[v], facecolors=[colours[v]], alpha=0.2, lw=0))
        ax.add_collection(LineCollection(lines[v], colors=[colours[v]], lw=1.2))
    ax.autoscale()


def row_quantiles(arr: np.ndarray, qs: tuple[float, ...]) -> np.ndarray:
    """Linear-interpolated quantiles of each row, ignoring NaN (vectorised nanquantile)."""
    ordered = np.sort(arr, axis=1)  # NaN sort last
    n = (~np.isnan(arr)).sum(axis=1)
    rows = np.arange(len(arr))
    out = np.full((len(arr), len(qs)), np.nan)
    for j, q in enumerate(qs):
        pos = np.clip(q * (n - 1), 0, None)
        lo = np.floor(pos).astype(int)
        hi = np.minimum(lo + 1, np.maximum(n - 1, 0))
        frac = pos - lo
        val = ordered[rows, lo] * (1 - frac) + ordered[rows, hi] * frac
        out[:, j] = np.where(n > 0, val, np.nan)
    return out
