"""Figure plumbing shared by the plot modules: facet grids, log-scale choice, PNG encoding.

Figures are plain `matplotlib.figure.Figure` objects drawn with the Agg canvas — no pyplot,
no global figure registry, no display — styled by seaborn's context managers so that nothing
changes matplotlib's global settings.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from analysis.labels import order_devices
from analysis.summary import SETTINGS

MAX_BARS = 30  # bars per facet above which figures keep only the most common settings
MAX_TOTAL_BARS = 120  # and bars per figure
MAX_COLS = 4
LOG_RATIO = 10.0  # a facet whose values span more than this factor gets a log scale
DPI = 100
MIN_WIDTH = 9.0  # inches: room for the title and the legend
PAD_TOP, PAD_BOTTOM, PAD_RIGHT = 0.4, 0.65, 0.25  # inches around each facet
PLAIN_TEXT = {"text.parse_math": False}
HEADER, FOOTER = 0.65, 0.8  # inches for the title and the legend


@contextmanager
def style() -> Iterator[None]:
    """seaborn's whitegrid style and notebook context, for the figures drawn inside; text as
    written (a `$` in a name from a results folder is a dollar sign, not mathtext)."""
    seaborn = sns.axes_style("whitegrid"), sns.plotting_context("notebook", font_scale=0.9)
    with seaborn[0], seaborn[1], matplotlib.rc_context(PLAIN_TEXT):
        yield


def grid(
    n: int, width: float, height: float, ncols: int = MAX_COLS, left: float = 0.9
) -> tuple[Figure, list[Axes]]:
    """A figure with `n` facets, at most `ncols` across; each plot area `width` × `height`
    inches with `left` inches for its y labels. Margins are fixed (no layout engine: that
    would cost seconds on a figure of many facets); room is kept for a title and a legend."""
    cols = max(1, min(n, ncols))
    rows = max(1, math.ceil(n / cols))
    cell_w, cell_h = left + width + PAD_RIGHT, PAD_TOP + height + PAD_BOTTOM
    fig_w = max(cols * cell_w, MIN_WIDTH)
    fig_h = rows * cell_h + HEADER + FOOTER
    fig = Figure(figsize=(fig_w, fig_h), dpi=DPI)
    FigureCanvasAgg(fig)
    side = (fig_w - cols * cell_w) / 2
    fig.subplots_adjust(
        left=(side + left) / fig_w,
        right=1 - (side + PAD_RIGHT) / fig_w,
        bottom=(FOOTER + PAD_BOTTOM) / fig_h,
        top=1 - (HEADER + PAD_TOP) / fig_h,
        wspace=(left + PAD_RIGHT) / width,
        hspace=(PAD_TOP + PAD_BOTTOM) / height,
    )
    axes = list(np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel())
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def facet_title(ax: Axes, text: str, **kwargs: object) -> None:
    """A facet's title at a fixed height. An explicit `y` turns off matplotlib's automatic title
    placement, which measures every tick label's extent on every draw (about a third of the
    rendering time of a figure of many facets); the fixed margins of `grid` leave room."""
    ax.set_title(text, y=1.0, **kwargs)  # type: ignore[arg-type]


def label_room(labels: object) -> float:
    """Inches of left margin for horizontal-bar labels of these lengths."""
    longest = max((len(str(t)) for t in labels), default=0)  # type: ignore[union-attr]
    return 0.4 + 0.075 * longest


def finish(fig: Figure, title: str, handles: list, legend_title: str | None = None) -> Figure:
    """The title in the header band, the legend centred in the footer band."""
    fig.suptitle(title, y=1 - 0.12 / fig.get_figheight(), va="top")
    if handles:
        fig.legend(
            handles=handles,
            loc="lower center",
            bbox_to_anchor=(0.5, 0.1 / fig.get_figheight()),
            ncols=min(len(handles), 6),
            title=legend_title,
            fontsize="small",
            frameon=False,
        )
    return fig


def maybe_log(ax: Axes, values: object, axis: str = "y") -> None:
    """Log scale when positive values span more than LOG_RATIO."""
    arr = np.asarray(values, dtype=float)
    arr = arr[np.isfinite(arr) & (arr > 0)]
    if len(arr) and arr.max() / arr.min() > LOG_RATIO:
        (ax.set_yscale if axis == "y" else ax.set_xscale)("log")
        plain_log_ticks(ax.yaxis if axis == "y" else ax.xaxis)


def plain_log_ticks(axis: Any, base: float = 10) -> None:
    """A log axis labelled in plain numbers (0.6, 2, 10) — not mathtext's 6×10⁻¹, which needs
    the mathtext that names from a results folder must not trigger."""
    axis.set_major_formatter(ticker.LogFormatter(base))
    axis.set_minor_formatter(ticker.LogFormatter(base, labelOnlyBase=False))


def reference_subset(frame: pd.DataFrame, per_facet: pd.Series) -> tuple[pd.DataFrame, str]:
    """Keep rows at the most common value of each varying setting until no facet holds more
    than MAX_BARS rows and the figure no more than MAX_TOTAL_BARS; the note says what was
    kept ('' when nothing was dropped)."""
    kept: list[str] = []
    for column in SETTINGS:
        facets = per_facet.loc[frame.index].value_counts()
        if facets.max() <= MAX_BARS and facets.sum() <= MAX_TOTAL_BARS:
            break
        if frame[column].nunique() > 1:
            value = frame[column].value_counts().idxmax()
            frame = frame[frame[column] == value]
            kept.append(f"{column} = {value}")
    note = f"showing only {', '.join(kept)} (the most common settings)" if kept else ""
    return frame, note


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG; tick labels are made while drawing, so plain text here too."""
    buf = io.BytesIO()
    with matplotlib.rc_context(PLAIN_TEXT):
        fig.savefig(buf, format="png", dpi=DPI, pil_kwargs={"compress_level": 3})
    return buf.getvalue()


def hbar_groups(ax: Axes, frame: pd.DataFrame, category: str, value: str, colours: dict) -> None:
    """Horizontal bars: one row per `category` (in frame order), one bar per variant within it,
    coloured by variant (the order of `colours`)."""
    cats = list(dict.fromkeys(frame[category]))
    variants = [v for v in colours if v in set(frame["variant"])]
    height = 0.8 / max(len(variants), 1)
    for i, v in enumerate(variants):
        sub = frame[frame["variant"] == v].set_index(category).reindex(cats)
        pos = np.arange(len(cats)) - 0.4 + height * (i + 0.5)
        ax.barh(pos, sub[value], height=height * 0.92, color=colours[v], label=v)
    ax.set_yticks(np.arange(len(cats)), cats)
    ax.invert_yaxis()


def palette(labels: list[str]) -> dict[str, tuple[float, float, float]]:
    """A colour-blind-safe colour per label, stable for a given ordered list."""
    colours = sns.color_palette("colorblind", n_colors=max(len(labels), 1))
    return dict(zip(labels, colours, strict=False))


KEYS = ["run_id", "trial_id"]  # a trial's rows, across runs


def facet_order(frame: pd.DataFrame, models: list[str]) -> list[tuple[str, str]]:
    """(model, device) facets in model order, CPU before GPUs."""
    present = set(zip(frame["model"], frame["device"], strict=True))
    return [(m, d) for m in models for d in order_devices(frame["device"]) if (m, d) in present]
