"""Figures 1–3: where the first epoch's time goes, steady epoch times, every epoch's wall time.

Each `fig_*` takes an `Analysis` and returns a matplotlib `Figure`, or None when the runs hold
nothing it could draw (no ok trial). `FIGURES` lists all seven figures, in report order, with
the caption the report prints and the reason it gives when a figure is absent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from analysis import figkit
from analysis.analyze import Analysis
from analysis.figkit import KEYS, facet_order
from analysis.labels import (
    device_key,
    order_models,
    order_variants,
    variant_key,
)
from analysis.summary import CONFIG, setting_labels
from bench.contract.headline import PHASE_LABELS, SETUP_PHASES
from bench.contract.schema import PHASES


def bar_labels(frame: pd.DataFrame) -> pd.Series:
    setting = setting_labels(frame)
    return frame["variant"].where(setting == "", frame["variant"] + " · " + setting)


def _sorted_bars(frame: pd.DataFrame) -> pd.DataFrame:
    key = frame["variant"].map(variant_key).astype(str) + "|" + frame["bar"]
    return frame.assign(_key=key).sort_values("_key")


def stacked_hbars(ax, y: np.ndarray, widths: np.ndarray, colours: list, height=0.7) -> None:
    """Stacked horizontal bars as one collection (row i at y[i], segment j coloured j)."""
    right = np.cumsum(widths, axis=1)
    left = right - widths
    y0, y1 = (y - height / 2)[:, None], (y + height / 2)[:, None]
    corners = [left, y0, right, y0, right, y1, left, y1]
    boxes = np.stack([np.broadcast_to(c, widths.shape) for c in corners], axis=-1)
    faces = np.broadcast_to(np.arange(widths.shape[1]), widths.shape)
    ax.add_collection(
        PolyCollection(
            boxes.reshape(-1, 4, 2), facecolors=[colours[j] for j in faces.ravel()], lw=0
        )
    )
    ax.set_ylim(len(y) - 0.5, -0.5)


def phase_colours() -> dict[str, tuple]:
    """A colour per phase that tells it from its neighbours (tab20: grey start-up, blue import,
    cyan device, green data, purple build, olive optimizer set-up); epoch 1's two are orange."""
    tab = sns.color_palette("tab20", 20)
    setup = [tab[i] for i in (14, 15, 0, 18, 19, 4, 8, 9, 16)]
    colours = dict(zip(SETUP_PHASES, setup, strict=True))
    return colours | {"first_step": (0.90, 0.45, 0.10), "first_epoch_rest": (0.98, 0.75, 0.40)}


def phase_table(a: Analysis) -> pd.DataFrame:
    """Per configuration, the bar of figure 1: each phase's median over ok repeats, scaled so
    that the set-up phases add up to the table's set-up and first_step + first_epoch_rest to
    its first epoch (medians of sums are not sums of medians). The bar ends at the cold start,
    the tick (set-up + steady) sits `overhead_s` before it — the table's numbers."""
    ok = a.trials.loc[a.trials["status"] == "ok", [*KEYS, *CONFIG[1:]]]
    phases = a.runs.phases.merge(ok, on=KEYS)
    wide = phases.pivot_table(
        index=CONFIG, columns="phase", values="duration_s", aggfunc="median"
    ).reset_index()
    wide = wide.reindex(columns=[*CONFIG, *PHASES]).fillna(dict.fromkeys(PHASES, 0.0))
    data = a.configs[[*CONFIG, "variant", "setup_s", "first_epoch_s", "steady_s"]]
    data = data.merge(wide, on=CONFIG)
    for part, total in ((list(SETUP_PHASES), "setup_s"), (EPOCH_ONE, "first_epoch_s")):
        width = data[part].sum(axis=1)
        data[part] = data[part].mul(data[total] / width.where(width > 0), axis=0).fillna(0.0)
    return data


EPOCH_ONE = ["first_step", "first_epoch_rest"]


def fig_phases(a: Analysis) -> Figure | None:
    """1. First-epoch decomposition: stacked phase medians per variant, facets model × device."""
    if a.configs.empty:
        return None
    data = phase_table(a)
    data, note = figkit.reference_subset(data, data["model"] + "|" + data["device"])
    data = data.assign(bar=bar_labels(data))
    facets = facet_order(data, order_models(a.trials))
    parts = dict(tuple(data.groupby(["model", "device"], sort=False)))
    most = max(len(parts[facet]) for facet in facets)
    colours = phase_colours()
    with figkit.style():
        left = figkit.label_room(data["bar"])
        fig, axes = figkit.grid(len(facets), 4.5, 0.3 + 0.3 * most, ncols=3, left=left)
        for ax, (model, device) in zip(axes, facets, strict=True):
            sub = _sorted_bars(parts[(model, device)])
            y = np.arange(len(sub))
            widths = sub.reindex(columns=list(PHASES)).fillna(0).to_numpy()
            stacked_hbars(ax, y, widths, [colours[p] for p in PHASES])
            ticks = (sub["setup_s"] + sub["steady_s"]).to_numpy()
            ax.scatter(ticks, y, marker="|", s=260, c="black", zorder=3)
            ax.set_xlim(0, 1.04 * np.nanmax([widths.sum(axis=1).max(), np.nanmax(ticks)]))
            ax.set_yticks(y, sub["bar"])
            figkit.facet_title(ax, f"{model} on {device}")
            ax.set_xlabel("seconds since spawn")
        present = [p for p in PHASES if data[p].sum() > 0]  # a legend of what the bars show
        handles = [Patch(color=colours[p], label=PHASE_LABELS[p]) for p in present]
        tick = "end of epoch 1 had it cost a steady epoch"
        handles.append(Line2D([], [], color="black", marker="|", ls="", ms=14, label=tick))
        title = _title("First epoch, phase by phase (medians over ok repeats)", note)
        figkit.finish(fig, title, handles)
    return fig


def fig_steady(a: Analysis) -> Figure | None:
    """2. Steady epoch time, median with its CI: x device, hue variant, one facet per model."""
    if a.configs.empty:
        return None
    data = a.configs.copy()
    data, note = figkit.reference_subset(data, data["model"] + "|" + data["device"])
    setting = setting_labels(data, sep="\n")
    data = data.assign(x=data["device"].where(setting == "", data["device"] + "\n" + setting))
    variants = order_variants(a.configs["variant"])
    colours = figkit.palette(variants)
    models = [m for m in order_models(a.trials) if m in set(data["model"])]
    width = 0.8 / len(variants)
    with figkit.style():
        fig, axes = figkit.grid(len(models), 4.2, 3.0, ncols=3)
        for ax, model in zip(axes, models, strict=True):
            sub = data[data["model"] == model]
            xs = sorted(set(sub["x"]), key=lambda x: (device_key(x.split(chr(10))[0]), x))
            for i, v in enumerate(variants):
                rows = sub[sub["variant"] == v].set_index("x").reindex(xs)
                pos = np.arange(len(xs)) - 0.4 + width * (i + 0.5)
                err = [
                    rows["steady_s"] - rows["steady_low"],
                    rows["steady_high"] - rows["steady_s"],
                ]
                ax.bar(pos, rows["steady_s"], width * 0.95, color=colours[v], label=v)
                ax.errorbar(pos, rows["steady_s"], yerr=np.nan_to_num(err), fmt="none", c="black")
            ax.set_xticks(np.arange(len(xs)), xs)
            figkit.maybe_log(ax, sub[["steady_low", "steady_s", "steady_high"]].to_numpy())
            figkit.facet_title(ax, model)
            ax.set_ylabel("steady epoch time (s)")
        handles = [Patch(color=colours[v], label=v) for v in variants]
        title = _title("Steady epoch time (epochs 2..E): median over repeats and its CI", note)
        figkit.finish(fig, title, handles, "framework / mode")
    return fig


def _title(title: str, note: str) -> str:
    return f"{title}\n{note}" if note else title


@dataclass(frozen=True, slots=True)
class FigureSpec:
    name: str
    title: str
    draw: Callable[[Analysis], Figure | None]
    caption: str
    absent: str
    cost: float = 1.0  # relative drawing time for a large sweep (drawn costliest first)


def figures() -> list[FigureSpec]:
    """The report's figures in order (imported lazily to keep the plot modules apart)."""
    from analysis import plots_epochs as ep
    from analysis import plots_resources as res
    from analysis import plots_steps as steps

    return [
        FigureSpec(
            "first_epoch_phases", "First-epoch decomposition", fig_phases, CAPTIONS[0], NONE, 3.0
        ),
        FigureSpec("steady_epoch", "Steady epoch time", fig_steady, CAPTIONS[1], NONE, 1.6),
        FigureSpec("epoch_wall_times", "Every epoch's wall time", ep.fig_epochs, CAPTIONS[2], NONE),
        FigureSpec("peak_memory", "Peak memory by source", res.fig_memory, CAPTIONS[3], NO_MEM),
        FigureSpec(
            "throughput", "Throughput", res.fig_throughput, CAPTIONS[4], res.THROUGHPUT_ABSENT, 1.4
        ),
        FigureSpec("mfu", "Model FLOPs utilisation", res.fig_mfu, CAPTIONS[5], res.MFU_ABSENT),
        FigureSpec("epoch1_steps", "Epoch 1's steps", steps.fig_steps, steps.CAPTION, steps.ABSENT),
    ]


NONE = "no trial finished ok"
NO_MEM = "no memory peak was recorded"
CAPTIONS = (
    "Where the time to the end of epoch 1 goes: the set-up phases (blue) and epoch 1 itself — "
    "its first step (tracing, compilation, autotuning) and the rest (orange). Each bar has the "
    "table's lengths: set-up and first epoch are medians over ok repeats, split between their "
    "phases in proportion to the phases' medians; the bar ends at the cold start. The black "
    "tick marks where epoch 1 would have ended had it cost only a steady epoch; the rest of "
    "the bar, right of it, is the first-epoch overhead of the table (first − steady).",
    "Median over repeats of the steady epoch time (epochs 2..E) with its order-statistic CI "
    "for the median; lower is faster. The CI reaches 95% from 6 repeats; with fewer its "
    "confidence is lower (the Configurations table prints it: 75% with 3 repeats), and a "
    "single repeat has none.",
    "Every epoch of every ok trial, one facet per model × device (a facet of more than 40 "
    "trials: each configuration's median and 10–90% band); epoch 1 stands out by the "
    "first-epoch overhead. With more than 12 facets, one panel instead: each configuration's "
    "median epoch time divided by its steady epoch, the thick lines the median per framework "
    "/ mode. Lines that keep falling or rising after epoch 2 mean the run was not yet steady.",
    "Largest per-epoch memory peak of each configuration (median over ok repeats), by source: "
    "host resident set (VmHWM) and each device counter the framework reports.",
    "Samples per second of the steady epochs against batch size and input size, where swept.",
    "Model FLOPs utilisation per trial, where a peak was calibrated.",
)
