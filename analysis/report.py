"""`write_report`: report.md, a self-contained report.html and figures/*.png for run folders.

The report holds, in order: **At a glance** (`analysis.glance`: per model and device, each
framework and mode's first epoch ÷ steady, cold start and steady epoch) and figure 1, the
first-epoch phases; warnings; one table row per configuration (steady median over repeats with
its CI and that CI's real confidence, first epoch, overhead = first − steady, first step,
set-up, cold start, samples/s, memory); per-step statistics and the step-based overhead
beside first − steady epoch (`steps`); the fleet view when the runs cover several machines
(`fleet`: one column per GPU/CPU model); the precision × framework view when several precisions ran
(`precision_view`); compile break-even; figures 2–7; every trial with its
status and error (failed trials included, never averaged); each run's host fingerprint and
config; and how each number was computed. Numbers are written by `analysis.numbers`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from analysis import doc, fingerprint, fleet, plots, render, scaling
from analysis.analyze import Analysis, analyze
from analysis.drift import TREND_MIN_EPOCHS, TREND_MIN_REPEATS
from analysis.glance import glance_blocks
from analysis.load import load_runs
from analysis.numbers import epochs, level, mib, number, ratio, seconds, seconds_interval
from analysis.precision_view import precision_blocks
from analysis.stats import FULL_CI_REPEATS, OUTLIER_MIN_N, VERDICT_REPEATS
from analysis.steps import step_blocks

ERROR_CHARS = 160


def write_report(run_dirs: list[Path], out_dir: Path | None = None) -> list[Path]:
    """Analyse `run_dirs` together; write report.md, report.html and figures/ into `out_dir`
    (default: the first run folder). Returns the files written."""
    a = analyze(load_runs(run_dirs))
    out = Path(out_dir) if out_dir is not None else Path(run_dirs[0])
    (out / "figures").mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with render.drawing(a) as pngs:  # the figures are drawn while the tables are built

        def figures() -> list[list[doc.Block]]:
            images, paths = figure_blocks(pngs(), out)
            written.extend(paths)
            return images

        blocks = build(a, figures)
    title = "bench report: " + ", ".join(a.runs.run_ids)
    md, page = out / "report.md", out / "report.html"
    md.write_text(doc.to_markdown(blocks), encoding="utf-8")
    page.write_text(doc.to_html(title, blocks), encoding="utf-8")
    return [md, page, *written]


def figure_blocks(pngs: list[bytes | None], out: Path) -> tuple[list[list[doc.Block]], list[Path]]:
    """Write each drawn figure to out/figures/NAME.png; each figure's blocks for the report
    (its heading, then the image or why it was not drawn)."""
    figures: list[list[doc.Block]] = []
    written = []
    for n, (spec, png) in enumerate(zip(plots.figures(), pngs, strict=True), start=1):
        title = f"{n}. {spec.title}"
        if png is None:
            figures.append([doc.Heading(3, title), doc.Para(f"Not drawn: {spec.absent}.")])
            continue
        path = out / "figures" / f"{spec.name}.png"
        path.write_bytes(png)
        written.append(path)
        image = doc.Image(f"figures/{spec.name}.png", png, title, spec.caption)
        figures.append([doc.Heading(3, title), image])
    return figures, written


def build(a: Analysis, figures: Callable[[], list[list[doc.Block]]]) -> list[doc.Block]:
    """The report's blocks: At a glance and the phases figure first (the first screen), then
    warnings, tables, the other figures, trials, runs and method. `figures` is called last,
    once every other block is built (the figures are being drawn meanwhile)."""
    n_ok = int((a.trials["status"] == "ok").sum())
    n_runs = len(a.runs.run_ids)
    head: list[doc.Block] = [
        doc.Heading(1, "bench report: " + ", ".join(a.runs.run_ids)),
        doc.Para(
            f"{n_runs} run{'s' * (n_runs != 1)}, {len(a.trials)} trials ({n_ok} ok), "
            f"{len(a.configs)} configurations; {len(a.warnings)} warning(s) below the figure."
        ),
        doc.Heading(2, "At a glance"),
        *glance_blocks(a.configs),
    ]
    tables: list[doc.Block] = [
        doc.Heading(2, "Warnings"),
        doc.Bullets(a.warnings) if a.warnings else doc.Para("None."),
        doc.Heading(2, "Configurations"),
        config_table(a.configs),
        *step_blocks(a.steps),
        *fleet.fleet_blocks(a),
        *precision_blocks(a),
        doc.Heading(2, "Compile break-even"),
        break_even_block(a.break_even),
        *scaling.scaling_blocks(a),
    ]
    tail: list[doc.Block] = [
        doc.Heading(2, "Trials"),
        trial_table(a.trials),
        *error_blocks(a.trials),
        doc.Heading(2, "Runs"),
        *run_blocks(a),
        doc.Heading(2, "Method"),
        doc.Bullets(METHOD),
    ]
    phases, *others = figures()
    return [
        *head,
        *phases,
        *tables,
        doc.Heading(2, "Figures"),
        *(block for figure in others for block in figure),
        *tail,
    ]


def config_table(configs: pd.DataFrame) -> doc.Table:
    """One row per configuration; first epoch − steady epoch = overhead and set-up + first
    epoch = cold start in every row. Peak device memory only where some trial has one."""
    headers = ["configuration", "n ok", "steady epoch [CI] level", "first epoch", "overhead"]
    headers += ["first ÷ steady", "first step", "set-up", "cold start", "samples/s"]
    headers += ["peak RSS MiB", "peak device MiB"]
    keep = len(headers) - (not configs["peak_device_bytes"].notna().any())
    rows = [
        [
            r.label,
            str(r.n_ok),
            f"{seconds_interval(r.steady_s, r.steady_low, r.steady_high)} {level(r.ci_level)}",
            seconds(r.first_epoch_s),
            seconds(r.overhead_s),
            ratio(r.overhead_ratio),
            seconds(r.first_step_s),
            seconds(r.setup_s),
            seconds(r.cold_s),
            number(r.samples_per_s),
            mib(r.peak_rss_bytes),
            mib(r.peak_device_bytes),
        ][:keep]
        for r in configs.itertuples(index=False)
    ]
    return doc.Table(headers[:keep], rows, right=set(range(1, keep)))


def break_even_block(table: pd.DataFrame) -> doc.Block:
    if table.empty:
        return doc.Para(
            "Not computed: no configuration ran both in eager mode and in a graph/compiled "
            "mode (sweep [sweep] torch_modes / keras_modes to get it)."
        )
    rows = [
        [r[0], *(seconds(v) for v in r[1:-1]), epochs(r[-1])] for r in table.itertuples(index=False)
    ]
    return doc.Table(list(table.columns), rows, right=set(range(1, len(table.columns))))


def trial_table(trials: pd.DataFrame) -> doc.Table:
    headers = ["trial", "run", "status", "steady epoch", "first epoch", "first step", "set-up"]
    headers += ["steal %", "other CPU %", "outlier epochs", "error"]
    rows = [
        [
            r.trial_id,
            r.run_id,
            r.status,
            seconds(r.steady_epoch_s),
            seconds(r.first_epoch_s),
            seconds(r.first_step_s),
            seconds(r.setup_s),
            number(r.cpu_steal_pct, 2),
            number(r.other_cpu_pct, 2),
            r.outlier_epochs,
            _first_line(r.error),
        ]
        for r in trials.itertuples(index=False)
    ]
    return doc.Table(headers, rows, right={3, 4, 5, 6, 7, 8})


def _first_line(text: str) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= ERROR_CHARS else line[: ERROR_CHARS - 1] + "…"


def error_blocks(trials: pd.DataFrame) -> list[doc.Block]:
    bad = trials[(trials["status"] != "ok") & (trials["error"].str.strip() != "")]
    blocks: list[doc.Block] = []
    for r in bad.itertuples(index=False):
        blocks.append(doc.Code(r.error, summary=f"{r.trial_id} ({r.status}): full error"))
    return blocks


def run_blocks(a: Analysis) -> list[doc.Block]:
    """Each run's folder, times and command; one host table with a column per run; configs."""
    blocks: list[doc.Block] = []
    ids = a.runs.run_ids
    for row in a.runs.runs.itertuples(index=False):
        command = " ".join(map(str, a.runs.meta[row.run_id].get("command") or []))
        blocks.append(
            doc.Para(
                f"{row.run_id}: folder {row.path}; started {row.started_utc}, finished "
                f"{row.finished_utc}{' (interrupted)' if row.interrupted else ''}; "
                f"command: `{command or '—'}`."
            )
        )
    hosts = {rid: fingerprint.host(a.runs.meta[rid]) for rid in ids}
    keys = list(dict.fromkeys(k for h in hosts.values() for k in h))
    rows = [[k, *(hosts[rid].get(k, "—") for rid in ids)] for k in keys]
    blocks.append(doc.Table(["host", *ids], rows))
    for rid in ids:
        text = fingerprint.config_text(a.runs.meta[rid])
        blocks.append(doc.Code(text, summary=f"resolved config of {rid}"))
    return blocks


METHOD = [
    "Every number is computed from the raw rows of phases.csv and epochs.csv; only trials "
    "with status ok enter a statistic.",
    "Numbers: times to 3 significant digits, in s from 1 s up and in ms below (an interval "
    "in its point's unit); counts with thousands separators; p-values as <0.001, 0.03, 1.00.",
    "The unit of every interval is the repeat: a fresh process, one value each. Epochs of one "
    "process share its speed, so they are never pooled as if independent.",
    "Steady epoch time: per trial the median wall time of epochs 2..E; per configuration the "
    "median over its ok repeats, with the distribution-free order-statistic interval for a "
    "median. Its exact confidence, from the binomial, is printed as CI level: 95% from "
    f"{FULL_CI_REPEATS} repeats, 93% with 5, 87% with 4, 75% with 3, 50% with 2, none with 1.",
    "First epoch: the median over repeats of epoch 1's wall time. First-epoch overhead = first "
    "epoch − steady epoch, the difference of those two medians, so the row adds up; first / "
    "steady is their ratio. Set-up: the median over repeats of spawn + harness + import + "
    "device_init + data + build + compile (the optimizer set-up: `model.compile` in Keras, the "
    "optimizer's constructor in torch — its first call imports torch._dynamo, seconds on a "
    "CPU; torch.compile compiles in the first step); cold start = set-up + first epoch (spawn "
    "to the end of epoch 1). First step: the median over repeats of epoch 1's first training "
    "step, where tracing, compilation and autotuning land.",
    "Samples/s: samples per epoch / steady epoch time.",
    "Fleet (runs of several machines): one column per machine — a GPU's name, a CPU trial's CPU "
    "model — with hosts of one model pooled; each cell the figures above over that machine's ok "
    "repeats, and the energy per steady epoch: per repeat the median energy_j of epochs 2..E, "
    "then the median over repeats.",
    "Outliers: modified z-score 0.6745·(x − median)/MAD (Iglewicz–Hoaglin) above the 99th "
    "percentile of the largest |z| among as many normal values (so 1% of outlier-free samples "
    f"trip it), for a trial's steady epochs and a configuration's repeats, from "
    f"{OUTLIER_MIN_N} values.",
    f"Not yet steady: in each of at least {TREND_MIN_REPEATS} repeats with at least "
    f"{TREND_MIN_EPOCHS} steady epochs, the Theil–Sen change across epochs 2..E relative to its "
    "median; flagged when their mean differs from 0 (one-sample t-test over the repeats, "
    "p < 0.05), exceeds 5% and twice the epoch-to-epoch noise, and at least two thirds of the "
    "repeats drift the same way. With "
    "fewer repeats or epochs the drift is not tested, and the warnings say so.",
    "Compile break-even: the first epoch count N from which a non-eager mode has finished N "
    "epochs no later than eager, time(N) = cold start + (N − 1) × steady; 'never' when its "
    "steady epoch is not faster.",
    "Unstable timings (warnings): a configuration's steady epochs split into two groups — each "
    "repeat over its own lower quartile, pooled, the best two-means split, Ashman's D above "
    "3.5 + 7/√n and the groups over 3% apart (unimodal noise trips it in under 5% of "
    "simulated configurations) — or its slowest repeat's order-statistic interval lying above "
    "its fastest's with their medians over 10% apart. The likely cause is read from the noise "
    "columns (CPU steal ≥ 2%, other processes ≥ 20% of a core, thermal throttling, a CPU "
    "frequency range over 10%, a load average at or above the CPU count).",
    "Peak memory: per epoch and source (memory.csv, or epochs.csv's peak_rss_bytes and "
    "peak_device_bytes by device_mem_source), the largest epoch per trial, median over repeats.",
    f"Comparisons (bench compare) need at least {VERDICT_REPEATS} repeats a side for a verdict.",
]
