"""`compare_runs`: compare run folders against the first — the table (`compare_stats`), written
as text, compare.md, compare.html and a heatmap (`compare_render`).
"""

from __future__ import annotations

from pathlib import Path

from analysis import compare_render, fingerprint
from analysis.analyze import analyze
from analysis.compare_stats import compare_table
from analysis.load import AnalysisError, load_runs


def compare_runs(run_dirs: list[Path], out_dir: Path) -> tuple[str, list[Path]]:
    """Compare runs against the first; write compare.md, compare.html and the heatmap PNG into
    `out_dir`. Returns the text table (for the terminal) and the files written."""
    if len(run_dirs) < 2:
        raise AnalysisError("compare needs at least two run folders (baseline first).")
    a = analyze(load_runs(run_dirs))
    table = compare_table(a)
    diffs = fingerprint.differences(a.runs)
    out = Path(out_dir)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    return compare_render.write(a, table, diffs, out)
