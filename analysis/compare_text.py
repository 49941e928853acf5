"""`bench compare` in the terminal: the comparison fitted to the terminal's width, ending with
a one-line verdict.

Words every row shares (the run, when one run is compared; the parts of the configuration
that do not vary) move to one line above the table; then, while the table is wider than the
terminal, the columns a reader needs least go (p before BH, the repeats, the two medians —
compare.md, compare.html and compare.csv keep them all). The method footnote is wrapped to the
width. The last line says what the comparison found.
"""

from __future__ import annotations

import shutil
import textwrap

import pandas as pd

from analysis import compare_stats as compare
from analysis import doc

#: columns dropped, in this order, while the table is too wide
DROP_ORDER = ("p", "repeats", "baseline median", "run median")
SEP = " · "


def terminal_width() -> int:
    """The terminal's width (`COLUMNS` first, as every tool reads it; 100 when unknown)."""
    return shutil.get_terminal_size((100, 24)).columns


def _shared(headers: list[str], rows: list[list[str]]) -> tuple[list[list[str]], str]:
    """Rows with the configuration's shared parts removed, and those parts."""
    at = headers.index("configuration")
    parts = [row[at].split(SEP) for row in rows]
    common = [p for p in parts[0] if all(p in other for other in parts[1:])]
    common = common if len(common) < len(parts[0]) else common[1:]  # keep the model
    out = [[*row[:at], SEP.join(p for p in ps if p not in common), *row[at + 1 :]]
           for row, ps in zip(rows, parts, strict=True)]  # fmt: skip
    return out, SEP.join(common)


def _drop(headers: list[str], rows: list[list[str]], name: str) -> None:
    at = headers.index(name)
    del headers[at]
    for row in rows:
        del row[at]


def fitted_table(table: pd.DataFrame, width: int) -> list[str]:
    """The comparison table's lines, no wider than `width` where dropping columns can do it."""
    headers, rows = compare.text_rows(table)
    rows, shared = _shared(headers, rows)
    lines = []
    if table["run"].nunique() == 1:
        lines.append(f"run: {table['run'].iloc[0]}")
        _drop(headers, rows, "run")
    if shared:
        lines.append(f"every row: {shared}")
    for name in (None, *DROP_ORDER):
        if name is not None:
            _drop(headers, rows, name)
        right = {i for i, h in enumerate(headers) if h not in ("metric", "configuration", "run")}
        text = doc.to_text(headers, rows, right=right - {len(headers) - 1})
        if max(map(len, text.splitlines())) <= width:
            break
    return [*lines, text]


def verdict_line(table: pd.DataFrame, width: int = 10_000) -> str:
    """One line, at most `width` long: how many rows are significantly slower or faster, and
    the largest slowdown."""
    if table.empty:
        return "verdict: nothing compared"
    tested = table[~table["verdict"].astype(str).str.startswith("no verdict")]
    significant = table["significant"].astype(bool)
    slow, fast = (
        table[significant & (table["verdict"] == "slower")],
        table[significant & (table["verdict"] == "faster")],
    )
    if tested.empty:
        return f"verdict: none — every one of {len(table)} rows has too few repeats for a test"
    if slow.empty and fast.empty:
        return f"verdict: no significant difference in {len(tested)} tested rows"
    found = [f"{len(x)} of {len(table)} rows {word}" for x, word in ((slow, "slower"),
             (fast, "faster")) if len(x)]  # fmt: skip
    line = "verdict: " + ", ".join(found)
    if not slow.empty:
        worst = slow.loc[slow["ratio"].idxmax()]
        model = str(worst["configuration"]).split(SEP)[0]
        longer = f"{line} (largest: {worst['metric']} of {model}, {worst['ratio']:.2f}×)"
        line = longer if len(longer) <= width else line
    return line


def differences(diffs: pd.DataFrame, width: int) -> list[str]:
    """What differs between the runs: a table where it fits, else one line per setting."""
    rows = diffs.astype(str).to_numpy().tolist()
    table = doc.to_text(list(diffs.columns), rows)
    if max(map(len, table.splitlines())) <= width:
        return [table]
    return [f"{row[0]}: " + " → ".join(row[1:]) for row in rows]


def wrapped(text: str, width: int) -> str:
    """A paragraph wrapped to the terminal."""
    return textwrap.fill(text, width=max(width, 40))
