"""`compare_runs`: compare run folders against the first — the table (`compare_stats`), written
as text, compare.md, compare.html and a heatmap (`compare_render`) — and `regressions`, the
significant slowdowns beyond a factor in any compared metric, which `compare --fail-above`
turns into exit code 1.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis import compare_render, fingerprint
from analysis.analyze import analyze
from analysis.compare_stats import compare_table
from analysis.load import AnalysisError, load_runs
from analysis.numbers import p_value, ratio


def compare_runs(run_dirs: list[Path], out_dir: Path) -> tuple[str, list[Path]]:
    """Compare runs against the first; write compare.md, compare.html and the heatmap PNG into
    `out_dir`. Returns the text table (for the terminal) and the files written."""
    text, files, _table = compare(run_dirs, out_dir)
    return text, files


def compare(run_dirs: list[Path], out_dir: Path) -> tuple[str, list[Path], pd.DataFrame]:
    """`compare_runs`, and the comparison table itself (for `regressions`)."""
    if len(run_dirs) < 2:
        raise AnalysisError("compare needs at least two run folders (baseline first).")
    a = analyze(load_runs(run_dirs))
    table = compare_table(a)
    diffs = fingerprint.differences(a.runs)
    out = Path(out_dir)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    text, files = compare_render.write(a, table, diffs, out)
    return text, files, table


def regressions(table: pd.DataFrame, fail_above: float) -> list[str]:
    """The significant rows of any compared metric (steady epoch, first-epoch overhead, cold
    start) whose ratio (other / baseline) exceeds `fail_above`, in words: what
    `compare --fail-above` gates on (as asv's `continuous --factor` does). Only a significant
    row counts, so a metric without a verdict (too few repeats, an overhead ≤ 0) never fails."""
    if table.empty:
        return []
    slow = table[table["significant"] & (table["ratio"] > fail_above)]
    return [
        f"{r.metric} of {r.configuration} in {r.run}: {ratio(r.ratio)} the baseline "
        f"(p (BH) {p_value(r.p_adj)})"
        for r in slow.itertuples(index=False)
    ]
