"""`compare`: compare run folders against the first — the table (`compare_stats`), written as
text, compare.md, compare.html, compare.csv and a heatmap (`compare_render`) — and its outcome,
the exit code a script acts on:

- 0: every run has rows aligned with the baseline (and, with `--fail-above`, none is
  significantly slower beyond the factor and each run has at least one row with a verdict);
- 1: `--fail-above RATIO`: a significant slowdown beyond RATIO in any compared metric
  (`regressions`, as asv's `continuous --factor`);
- 3: some run has no configuration aligned with the baseline: nothing was compared, and the
  message names the keys that differ (`compare_align`);
- 4: `--fail-above` with a run whose every row is "no verdict" (too few repeats, overheads
  ≤ 0): the gate cannot pass on nothing (`--allow-no-verdict` lets it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis import compare_render, fingerprint
from analysis.analyze import analyze
from analysis.compare_align import unaligned
from analysis.compare_stats import compare_table
from analysis.load import AnalysisError, load_runs
from analysis.numbers import p_value, ratio
from analysis.stats import VERDICT_REPEATS

EXIT_OK, EXIT_SLOWER, EXIT_UNALIGNED, EXIT_NO_VERDICT = 0, 1, 3, 4


@dataclass(slots=True)
class Outcome:
    """What a comparison found, for its exit code: lines for stderr and the code."""

    code: int = EXIT_OK
    messages: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Comparison:
    """One comparison: the terminal text, the files written, the table and its outcome."""

    text: str
    files: list[Path]
    table: pd.DataFrame
    unaligned: dict[str, str]  # run → why none of its configurations aligned with the baseline


def compare_runs(run_dirs: list[Path], out_dir: Path) -> tuple[str, list[Path]]:
    """Compare runs against the first; write compare.md, compare.html, compare.csv and the
    heatmap PNG into `out_dir`. Returns the text table (for the terminal) and the files."""
    done = compare(run_dirs, out_dir)
    return done.text, done.files


def compare(run_dirs: list[Path], out_dir: Path) -> Comparison:
    """`compare_runs`, with the comparison table and the unaligned runs (for `outcome`)."""
    if len(run_dirs) < 2:
        raise AnalysisError("compare needs at least two run folders (baseline first).")
    a = analyze(load_runs(run_dirs))
    table = compare_table(a)
    diffs = fingerprint.differences(a.runs)
    out = Path(out_dir)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    missing = unaligned(a, table)
    text, files = compare_render.write(a, table, diffs, out, missing)
    return Comparison(text, files, table, missing)


def regressions(table: pd.DataFrame, fail_above: float) -> pd.DataFrame:
    """The significant slower rows of any compared metric (steady epoch, first-epoch
    overhead, cold start) whose ratio (other / baseline) exceeds `fail_above`: what
    `compare --fail-above` gates on. A row without a verdict is never one of them."""
    if table.empty:
        return table
    return table[table["significant"] & (table["ratio"] > fail_above)]


def regression_lines(rows: pd.DataFrame) -> list[str]:
    """`regressions` in words, one line each."""
    return [
        f"{r.metric} of {r.configuration} in {r.run}: {ratio(r.ratio)} the baseline "
        f"(p (BH) {p_value(r.p_adj)})"
        for r in rows.itertuples(index=False)
    ]


def outcome(
    done: Comparison, fail_above: float | None = None, allow_no_verdict: bool = False
) -> Outcome:
    """The exit code and its reasons (see the module docstring; 1 before 3 before 4)."""
    table, missing = done.table, done.unaligned
    result = Outcome()
    if fail_above is not None and len(slow := regressions(table, fail_above)):
        lines = regression_lines(slow)
        result.messages += [f"slower than {fail_above:g}×: {line}" for line in lines]
        result.code = EXIT_SLOWER
    if missing:
        result.messages += [
            f"nothing compared for {run}: no configuration aligned with the baseline — {why}."
            for run, why in missing.items()
        ]
        result.code = result.code or EXIT_UNALIGNED
    if fail_above is not None and not allow_no_verdict:
        undecided = _without_verdict(table)
        result.messages += [
            f"no verdict for {run}: none of its {n} row(s) could be tested (fewer than "
            f"{VERDICT_REPEATS} ok repeats a side, or overheads ≤ 0), so --fail-above cannot "
            "pass it; add repeats, or accept it with --allow-no-verdict."
            for run, n in undecided.items()
        ]
        result.code = result.code or (EXIT_NO_VERDICT if undecided else EXIT_OK)
    return result


def _without_verdict(table: pd.DataFrame) -> dict[str, int]:
    """Each run whose rows all lack a verdict, with its row count."""
    if table.empty:
        return {}
    tested = table.groupby("run", sort=False)["testable"].agg(["any", "size"])
    return {run: int(n) for run, (any_tested, n) in tested.iterrows() if not any_tested}
