"""Writing a comparison: the terminal text, compare.md, compare.html and the ratio heatmap
(and, where the runs cover several machines, the fleet table: `analysis.fleet`)."""

from __future__ import annotations

import textwrap
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from analysis import compare_stats as compare
from analysis import compare_text, doc, figkit, fleet, forked
from analysis.analyze import Analysis
from analysis.numbers import ratio

MAX_HEAT_ROWS = 60
LEGEND = (
    "Metrics, one value per repeat (a fresh process): steady epoch; first-epoch overhead "
    "(first − steady epoch); step-based overhead (epoch 1's excess over the steady per-step "
    "median until its step time settles, steps.csv; where both runs recorded steps); cold start "
    "(spawn to the end of epoch 1). ratio = median(run) / "
    "median(baseline): above 1 the run is slower; its 95% CI and p come from one test, Welch's "
    "t on log values (the CI excludes 1 exactly when p < 0.05); p (BH): adjusted by "
    "Benjamini–Hochberg over every tested row. verdict: starred (*) 'slower' or 'faster' "
    f"where p (BH) < {compare.ALPHA}, the CI excludes 1 and the ratio differs from 1 by at "
    f"least {compare.MIN_EFFECT:.0%}; 'n.s.': tested, not significant; 'no verdict: N repeats': "
    f"a side has fewer than {compare.stats.VERDICT_REPEATS} ok repeats; "
    f"'{compare.NOT_POSITIVE}': a repeat's first epoch was no slower than its steady one, "
    "leaving no overhead to take a ratio of."
)


def write(
    a: Analysis, table: pd.DataFrame, diffs: pd.DataFrame, out: Path, missing: dict[str, str]
) -> tuple[str, list[Path]]:
    """Write compare.md, compare.html, compare.csv and figures/compare_ratios.png; return
    (text, files). `missing`: each run with nothing aligned with the baseline, and why. The
    heatmap is drawn in a forked worker while this process builds the rest."""
    names = compare.run_labels(a.runs)
    base, others = names[a.runs.run_ids[0]], [names[r] for r in a.runs.run_ids[1:]]
    written = [write_csv(table, out / "compare.csv")]
    heat = [] if table.empty else [(table, column_names(a))]
    with forked.started(heatmap_png, heat) as drawing:
        rest = fleet.fleet_blocks(a)  # the machines side by side, absolute figures
        rest += fingerprint_blocks(_named(diffs, names)) + unmatched_blocks(a)
        aligned = [] if table.empty else [compare.doc_table(table), doc.Para(LEGEND)]
        pngs = drawing.results()
    blocks: list[doc.Block] = [
        doc.Heading(1, f"bench compare: {', '.join(others)} against {base}"),
        doc.Para(f"Baseline {base}. **V{compare_text.verdict_line(table)[1:]}**."),
    ]
    if missing:
        blocks += [doc.Heading(2, "Not compared"), doc.Bullets(_not_compared(missing))]
    for png in pngs:
        path = out / "figures" / "compare_ratios.png"
        path.write_bytes(png)
        written.append(path)
        caption = (
            "log2 of each ratio; only significant cells are coloured (red slower than the "
            "baseline, blue faster); the others are grey with their ratio printed."
        )
        blocks += [
            doc.Image("figures/compare_ratios.png", png, "ratio heatmap", caption),
            doc.Heading(2, "Aligned configurations"),
            *aligned,
        ]
    blocks += rest
    md, page = out / "compare.md", out / "compare.html"
    md.write_text(doc.to_markdown(blocks), encoding="utf-8")
    page.write_text(doc.to_html(f"bench compare against {base}", blocks), encoding="utf-8")
    return text(a, table, diffs, missing), [md, page, *written]


def heatmap_png(job: tuple[pd.DataFrame, dict[str, str]]) -> bytes:
    """The ratio heatmap of (table, column names) as PNG bytes."""
    return figkit.png_bytes(heatmap(*job))


def _named(diffs: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """The differences with one column per run, headed by the run's folder name."""
    return diffs.rename(columns=names)


def fingerprint_blocks(diffs: pd.DataFrame) -> list[doc.Block]:
    blocks: list[doc.Block] = [doc.Heading(2, "What differs between the runs")]
    if diffs.empty:
        return [*blocks, doc.Para("Nothing: same host fingerprint, config and settings.")]
    rows = diffs.astype(str).to_numpy().tolist()
    return [*blocks, doc.Table(list(diffs.columns), rows)]


def unmatched_blocks(a: Analysis) -> list[doc.Block]:
    missing = compare.unmatched(a)
    if not missing:
        return []
    return [doc.Heading(2, "Not in every run"), doc.Bullets(missing)]


def _not_compared(missing: dict[str, str]) -> list[str]:
    return [
        f"{run}: no configuration aligned with the baseline, nothing compared — {why}."
        for run, why in missing.items()
    ]


def text(
    a: Analysis,
    table: pd.DataFrame,
    diffs: pd.DataFrame,
    missing: dict[str, str] | None = None,
    width: int | None = None,
) -> str:
    """The comparison as plain text for the terminal, fitted to `width` (the terminal's when
    None: `analysis.compare_text`), ending with a one-line verdict."""
    width = width or compare_text.terminal_width()
    names = compare.run_labels(a.runs)
    lines = [f"baseline: {names[a.runs.run_ids[0]]}"]
    lines += [f"not compared: {line}" for line in _not_compared(missing or {})]
    if not table.empty:
        lines += [*compare_text.fitted_table(table, width), "", compare_text.wrapped(LEGEND, width)]
    if not diffs.empty:
        diffs = _named(diffs, names)
        lines += ["", "what differs between the runs:", *compare_text.differences(diffs, width)]
    missing = compare.unmatched(a)
    if missing:
        lines += ["", "not in every run:", *(f"  {m}" for m in missing)]
    return "\n".join([*lines, "", compare_text.verdict_line(table, width)])


# compare.csv and `compare --json`: field → column of the comparison table
FIELDS = {
    "metric": "metric",
    "configuration": "configuration",
    "run": "run",
    "baseline_median_s": "base_median",
    "run_median_s": "other_median",
    "ratio": "ratio",
    "ratio_ci_low": "ratio_low",
    "ratio_ci_high": "ratio_high",
    "p": "p",
    "p_bh": "p_adj",
    "repeats_baseline": "n_base",
    "repeats_run": "n_other",
    "verdict": "verdict",
    "significant": "significant",
}


def records(table: pd.DataFrame) -> list[dict]:
    """One plain dict per row of the comparison (FIELDS); not measured or not tested: None."""
    if table.empty:
        return []
    frame = table[list(FIELDS.values())].set_axis(list(FIELDS), axis=1).astype(object)
    return frame.where(frame.notna(), None).to_dict("records")


def write_csv(table: pd.DataFrame, path: Path) -> Path:
    """compare.csv: `records`, one line each, headed by FIELDS (empty cells for None)."""
    frame = pd.DataFrame(records(table), columns=list(FIELDS))
    frame.to_csv(path, index=False)
    return path


SHORT_METRICS = {"first-epoch overhead": "overhead"}


def column_names(a: Analysis) -> dict[str, str]:
    """Each run (as the table names it) → its heatmap column's name: its machine, as the Fleet
    section names it, where every run is one machine and no two share one; else the run."""
    labels = compare.run_labels(a.runs)
    machines = fleet.machine_names(a).groupby(a.trials["run_id"]).unique()
    named = {labels[r]: str(m[0]) for r, m in machines.items() if len(m) == 1 and r in labels}
    if len(named) == len(labels) and len(set(named.values())) == len(named):
        return named
    return {v: v for v in labels.values()}


def heatmap(table: pd.DataFrame, names: dict[str, str] | None = None) -> Figure:
    """Ratio heatmap: one row per configuration, one column per (metric, other run) named short
    (the machine where runs are machines: `column_names`); only significant cells are
    coloured, the others grey with their ratio printed."""
    keep = _largest(table)
    sub = table[table["configuration"].isin(keep)]
    run = sub["run"].map(lambda r: textwrap.fill((names or {}).get(r, r), 16))
    sub = sub.assign(
        column=sub["metric"].map(lambda m: SHORT_METRICS.get(m, m)) + "\n" + run,
        note=[_cell(r) for r in sub.itertuples(index=False)],
        coloured=np.log2(sub["ratio"]).where(sub["significant"].astype(bool)),
    )
    columns = list(dict.fromkeys(sub["column"]))

    def grid(values: str) -> pd.DataFrame:
        wide = sub.pivot(index="configuration", columns="column", values=values)
        return wide.reindex(index=keep, columns=columns)

    coloured = grid("coloured")
    sizes = np.abs(coloured.to_numpy(dtype=float))
    limit = max(float(sizes[~np.isnan(sizes)].max(initial=0.0)), 0.05)
    with figkit.style():
        width = 1.5 + 1.6 * len(columns)
        left = figkit.label_room(keep)
        fig, (ax,) = figkit.grid(1, width, 0.4 + 0.35 * len(keep), left=left)
        ax.set_facecolor(GREY)  # cells left uncoloured: not significant (or not in a run)
        with warnings.catch_warnings():  # seaborn 0.13 calls the deprecated Colormap.set_bad
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            _heatmap(ax, coloured, grid("note"), limit)
        _plain_notes(ax, coloured, grid("note"))
        ax.tick_params(axis="y", rotation=0)
        ax.tick_params(axis="x", rotation=0)
        ax.set_xlabel("")
        ax.set_ylabel("")
        note = f" ({MAX_HEAT_ROWS} largest differences)" if len(keep) < _n(table) else ""
        title = f"Ratio of medians, run / baseline{note}; coloured and * where significant"
        figkit.finish(fig, title, [])
    return fig


GREY = "#e6e6e6"


def _plain_notes(ax, coloured: pd.DataFrame, notes: pd.DataFrame) -> None:
    """The ratio of each uncoloured cell (seaborn annotates coloured cells only)."""
    for i, j in zip(*np.nonzero(coloured.isna().to_numpy()), strict=True):
        note = notes.iat[i, j]
        if isinstance(note, str):
            ax.text(j + 0.5, i + 0.5, note, ha="center", va="center", color="#555555")


def _heatmap(ax, values: pd.DataFrame, notes: pd.DataFrame, limit: float) -> None:
    sns.heatmap(
        values,
        annot=notes,
        fmt="",
        cmap="vlag",
        center=0,
        vmin=-limit,
        vmax=limit,
        linewidths=0.5,
        ax=ax,
        cbar_kws={"label": "log2(run / baseline), significant cells"},
    )


def _cell(r) -> str:
    return f"{ratio(r.ratio)}{'*' if r.significant else ''}"


def _n(table: pd.DataFrame) -> int:
    return table["configuration"].nunique()


def _largest(table: pd.DataFrame) -> list[str]:
    """Configurations in table order, at most MAX_HEAT_ROWS: significant ones first, then
    those with the largest |log2|."""
    order = list(dict.fromkeys(table["configuration"]))
    if len(order) <= MAX_HEAT_ROWS:
        return order
    size = np.abs(np.log2(table["ratio"])) + 100 * table["significant"].astype(bool)
    size = size.groupby(table["configuration"]).max()
    top = set(size.nlargest(MAX_HEAT_ROWS).index)
    return [c for c in order if c in top]
