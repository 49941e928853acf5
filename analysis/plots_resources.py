"""Figures 4–6: peak memory by source, throughput against batch and input size, MFU.

Like `plots`, each `fig_*` takes an `Analysis` and returns a `Figure`, or None when there is
nothing to draw: no memory peaks, no swept batch or input size, no `mfu` column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from analysis import figkit
from analysis.analyze import Analysis
from analysis.labels import (
    MIB,
    order_devices,
    order_models,
    order_variants,
    pixels,
)
from analysis.summary import CONFIG, setting_labels
from bench.contract.mfu import achieved_flops_per_s, mfu

KEYS = ["run_id", "trial_id"]
SOURCE_NAMES = {
    "host_vmhwm": "host RSS high-water mark (VmHWM)",
    "torch_max_memory_allocated": "torch.cuda.max_memory_allocated",
    "torch_max_memory_reserved": "torch.cuda.max_memory_reserved",
    "tf_get_memory_info_peak": "tf get_memory_info()['peak']",
}
THROUGHPUT_ABSENT = "neither batch size nor input size was swept"
MFU_ABSENT = (
    "no trial has a peak FLOP/s to divide by (run `bench calibrate`, or use a GPU with a "
    "known spec-sheet peak)"
)
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def fig_memory(a: Analysis) -> Figure | None:
    """4. Peak memory (MiB) per model and variant, one facet per memory source and device."""
    if a.memory.empty:
        return None
    per_trial = a.memory.merge(a.trials[[*KEYS, *CONFIG[1:]]], on=KEYS)
    data = per_trial.groupby([*CONFIG, "source"], as_index=False, dropna=False)["peak_bytes"]
    data = data.median().merge(a.configs[[*CONFIG, "variant"]], on=CONFIG)
    data, note = figkit.reference_subset(data, data["source"] + "|" + data["device"])
    setting = setting_labels(data)
    data = data.assign(
        row=data["model"].where(setting == "", data["model"] + " · " + setting),
        mib=data["peak_bytes"] / MIB,
        _m=data["model"].map(order_models(a.trials).index),
    ).sort_values(["_m", "row"])
    sources = sorted(set(data["source"]), key=lambda s: (s != "host_vmhwm", s))
    facets = [(s, d) for s in sources for d in order_devices(data["device"]) if _has(data, s, d)]
    colours = figkit.palette(order_variants(a.configs["variant"]))
    rows = max(data.groupby(["source", "device"])["row"].nunique().max(), 1)
    bars = rows * data["variant"].nunique()
    with figkit.style():
        left = figkit.label_room(data["row"])
        fig, axes = figkit.grid(len(facets), 4.0, 0.3 + 0.22 * bars, ncols=3, left=left)
        for ax, (source, device) in zip(axes, facets, strict=True):
            sub = data[(data["source"] == source) & (data["device"] == device)]
            figkit.hbar_groups(ax, sub, "row", "mib", colours)
            figkit.facet_title(
                ax, f"{device}: {SOURCE_NAMES.get(source, source)}", fontsize="medium"
            )
            ax.set_xlabel("peak memory (MiB)")
        used = [v for v in colours if v in set(data["variant"])]
        handles = [Patch(color=colours[v], label=v) for v in used]
        title = "Peak memory per epoch, by source (largest epoch; median of ok repeats)"
        figkit.finish(fig, f"{title}\n{note}" if note else title, handles, "framework / mode")
    return fig


def _has(data: pd.DataFrame, source: str, device: str) -> bool:
    return bool(((data["source"] == source) & (data["device"] == device)).any())


def swept(configs: pd.DataFrame, column: str) -> bool:
    """Does `column` take several values while every other identity column is held fixed?"""
    others = [c for c in CONFIG if c not in (column, "samples_per_epoch")]
    return bool(len(configs)) and configs.groupby(others)[column].nunique().max() > 1


def fig_throughput(a: Analysis) -> Figure | None:
    """5. Samples/s against batch size and input size (where swept), one facet per device."""
    data = a.configs.assign(pixels=a.configs["input_shape"].map(pixels))
    dims = [d for d in ("batch_size", "input_shape") if swept(data, d)]
    if not dims:
        return None
    devices = order_devices(data["device"])
    models = order_models(a.trials)
    colours = figkit.palette(order_variants(data["variant"]))
    with figkit.style():
        fig, axes = figkit.grid(len(dims) * len(devices), 4.5, 3.2, ncols=len(dims))
        for i, device in enumerate(devices):
            for ax, dim in zip(axes[i * len(dims) :], dims, strict=False):
                sub = data[data["device"] == device]
                _throughput_lines(ax, sub, dim, colours, models)
                figkit.maybe_log(ax, data["samples_per_s"])
                figkit.facet_title(ax, f"{device}: samples/s vs {dim.replace('_', ' ')}")
                ax.set_ylabel("samples / s (steady)")
        handles = [Line2D([], [], color=c, label=v) for v, c in colours.items()]
        handles += [
            Line2D([], [], color="grey", marker=MARKERS[j % len(MARKERS)], label=m)
            for j, m in enumerate(models)
        ]
        figkit.finish(
            fig, "Throughput of the steady epochs (median over repeats, with its CI)", handles
        )
    return fig


def _throughput_lines(ax, data: pd.DataFrame, dim: str, colours, models) -> None:
    """One line per configuration family along `dim`, with its CI as error bars, drawn as a few
    collections (an `errorbar` call per line costs milliseconds: a sweep has hundreds); x ticks
    at the swept values."""
    x = "batch_size" if dim == "batch_size" else "pixels"
    others = [c for c in CONFIG if c not in (dim, "samples_per_epoch")]
    lines: dict[str, list] = {}
    bars: dict[str, list] = {}
    points: dict[str, list] = {}  # marker → (x, y, colour) of each point
    for _, line in data.groupby(others):
        line = line.sort_values(x)
        marker = MARKERS[models.index(line["model"].iloc[0]) % len(MARKERS)]
        ys = line["samples_per_s"].to_numpy(dtype=float)
        samples = ys * line["steady_s"].to_numpy(dtype=float)
        low = np.nan_to_num(samples / line["steady_high"].to_numpy(dtype=float), nan=ys)
        high = np.nan_to_num(samples / line["steady_low"].to_numpy(dtype=float), nan=ys)
        xs, colour = line[x].to_numpy(dtype=float), colours[line["variant"].iloc[0]]
        lines.setdefault(colour, []).append(np.column_stack([xs, ys]))
        bars.setdefault(colour, []).extend(
            np.stack([np.column_stack([xs, low]), np.column_stack([xs, high])], axis=1)
        )
        points.setdefault(marker, []).extend(
            (px, py, colour) for px, py in zip(xs, ys, strict=True)
        )
    for colour, segments in lines.items():
        ax.add_collection(LineCollection(segments, colors=[colour], lw=1.5))
        ax.add_collection(LineCollection(bars[colour], colors=[colour], lw=1.0))
    for marker, where in points.items():
        px, py, colour = zip(*where, strict=True)
        ax.scatter(px, py, c=list(colour), marker=marker, s=36, zorder=3)
    ax.autoscale_view()
    ax.set_xscale("log", base=2)
    figkit.plain_log_ticks(ax.xaxis, base=2)
    ticks = data.drop_duplicates(x).sort_values(x)
    names = (
        ticks[x].astype(str)
        if x == "batch_size"
        else ticks["input_shape"].str.rsplit("x", n=1).str[0]
    )
    ax.set_xticks(ticks[x], names, minor=False)
    ax.minorticks_off()
    ax.set_xlabel("batch size" if x == "batch_size" else "input size (H × W)")


PEAKS = {
    "peak_flops_per_s_calibrated": "of the calibrated peak (bench calibrate)",
    "peak_flops_per_s_spec": "of the spec-sheet peak",
}


def _mfu_pct(row: pd.Series, peak_column: str) -> float:
    """One trial's MFU (%) against `peak_column`, by `bench.contract.mfu`'s definition (per
    device: a data-parallel trial's samples are shared by its `world_size` devices); NaN when
    not measurable."""
    world = row.get("world_size", 1)
    achieved = achieved_flops_per_s(
        _number(row["flops_per_sample"]),
        _number(row["samples_per_epoch"]),
        _number(row["steady_epoch_s"]),
        int(world) if pd.notna(world) else 1,
    )
    value = mfu(achieved, _number(row[peak_column]))
    return np.nan if value is None else 100 * value


def _number(value: object) -> float | None:
    return None if pd.isna(value) else float(value)  # type: ignore[arg-type]


def mfu_table(a: Analysis) -> pd.DataFrame:
    """Long: one row per ok trial and peak source with `mfu_pct`, recomputed from raw figures
    (`bench.contract.mfu`: flops_per_sample × samples_per_epoch / world_size / steady epoch /
    peak); a bare `mfu` column is taken as it is."""
    ok = a.trials[a.trials["status"] == "ok"]
    parts = []
    for column, name in PEAKS.items():
        if column in ok and "flops_per_sample" in ok and len(ok):
            pct = ok.apply(_mfu_pct, axis=1, args=(column,)).astype(float)
            parts.append(ok.assign(peak=name, mfu_pct=pct))
    if "mfu" in ok:
        parts.append(ok.assign(peak="of peak", mfu_pct=100 * ok["mfu"].astype(float)))
    if not parts:
        return pd.DataFrame(columns=["peak", "mfu_pct"])
    long = pd.concat(parts, ignore_index=True)
    return long[np.isfinite(long["mfu_pct"].astype(float)) & (long["mfu_pct"] > 0)]


def fig_mfu(a: Analysis) -> Figure | None:
    """6. MFU (%) per ok trial: x model, hue variant; one facet per device and peak source."""
    data = mfu_table(a)
    if data.empty:
        return None
    facets = [
        (p, d)
        for p in dict.fromkeys(data["peak"])
        for d in order_devices(data["device"])
        if ((data["peak"] == p) & (data["device"] == d)).any()
    ]
    models = [m for m in order_models(a.trials) if m in set(data["model"])]
    variants = order_variants(data["variant"])
    colours = figkit.palette(order_variants(a.configs["variant"]))
    with figkit.style():
        fig, axes = figkit.grid(len(facets), 4.5, 3.2, ncols=3)
        for ax, (peak, device) in zip(axes, facets, strict=True):
            sub = data[(data["peak"] == peak) & (data["device"] == device)]
            common = dict(data=sub, x="model", y="mfu_pct", hue="variant", ax=ax)
            common |= dict(order=models, hue_order=variants, palette=colours, legend=False)
            sns.barplot(**common, estimator="median", errorbar=None, alpha=0.45)
            sns.stripplot(**common, dodge=True, size=4, linewidth=0.5, edgecolor="black")
            figkit.facet_title(ax, device, fontsize="medium")
            ax.set_ylabel(f"MFU (% {peak})", fontsize="small")
        handles = [Patch(color=colours[v], label=v) for v in variants]
        title = "Model FLOPs utilisation per trial (bar: median; dots: trials)"
        figkit.finish(fig, title, handles, "framework / mode")
    return fig
