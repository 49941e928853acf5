"""Reading one result CSV, strictly: exact header, whole rows, typed columns.

A line cut off at the end of a file (a full disk, a kill in mid-write) is not a row: only whole
lines are read (`bench.contract.commits`).

The common case (no quoted field, every value well-formed) is parsed by pandas' C reader with
the column types taken from the schema dataclass. A file that fails any check is re-read
slowly, value by value, to name the first bad row and column in the error message.

The header must be exactly the one the run's schema version wrote
(`bench.contract.schema.columns_in_version`); columns added by later versions are then filled in
empty ("not measured"), so every frame has today's columns in today's order.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

from bench.contract.commits import complete_part
from bench.contract.schema import OLDER_VALUES, SCHEMA_VERSION, TABLES, columns_in_version


class AnalysisError(Exception):
    """Result files the analysis cannot use; the message names the file. CLI exit code 2."""

    exit_code = 2


def column_types(row_type: type) -> dict[str, str]:
    """Field name → 'str', 'int', 'int?', 'float' or 'float?' from the dataclass annotations
    (any other type is read as text)."""
    out = {}
    for name, note in row_type.__annotations__.items():
        text = str(note).replace(" ", "")
        base = text.split("|")[0]
        out[name] = (
            "str" if base not in ("int", "float") else base + ("?" if "None" in text else "")
        )
    return out


def read_table(path: Path, row_type: type, version: int = SCHEMA_VERSION) -> pd.DataFrame:
    """One CSV table, its header exactly the columns of schema `version`, each column typed;
    columns added since that version are added empty."""
    expected = columns_in_version(row_type, version)
    if not expected:  # a table added after `version` (ranks.csv before 5): empty
        return with_later_columns(pd.DataFrame(), column_types(row_type))
    if not path.is_file():
        raise AnalysisError(f"{path}: missing; every run folder holds {', '.join(TABLES)}.")
    data, _ = complete_part(path.read_bytes())  # a line cut off at the end is not a row
    if not data:
        raise AnalysisError(f"{path}: the file is truncated (not even a whole header line).")
    try:
        text = data.decode("utf-8")
        header = next(csv.reader(io.StringIO(text[: text.index("\n") + 1])), [])
        if header != expected:
            raise AnalysisError(f"{path}: {header_problem(header, expected, version)}")
        check_field_counts(path, text, len(expected))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise AnalysisError(f"{path}: not a readable CSV file ({exc}).") from None
    every = column_types(row_type)
    kinds = {c: every[c] for c in expected}
    try:
        frame = _fast(text, kinds)
    except (ValueError, TypeError):
        frame = _slow(text, kinds, path)
    return with_later_columns(frame, every)


def with_later_columns(frame: pd.DataFrame, kinds: dict[str, str]) -> pd.DataFrame:
    """`frame` with every column of `kinds` it lacks added empty (or with its
    `OLDER_VALUES` value), in `kinds`' order."""
    empty = {"str": "", "int?": pd.NA, "float?": np.nan}
    for name in (c for c in kinds if c not in frame):
        value = OLDER_VALUES.get(name, empty.get(kinds[name], np.nan))
        whole = "int64" if name in OLDER_VALUES else "float64"  # an int column's older value
        dtype = {"str": object, "int": whole, "int?": "Int64"}.get(kinds[name], "float64")
        frame[name] = pd.Series(value, index=frame.index, dtype=dtype)
    return frame[list(kinds)]


def check_field_counts(path: Path, text: str, width: int) -> None:
    """Every row has `width` fields (a cut-off row is how a truncated file shows)."""
    if '"' in text:
        counts = [len(r) for r in csv.reader(io.StringIO(text))]
    else:
        counts = [line.count(",") + 1 for line in text.split("\n")[:-1]]
    bad = np.flatnonzero(np.asarray(counts[1:]) != width)
    if len(bad):
        n = int(bad[0])
        raise AnalysisError(
            f"{path}: row {n + 1} has {counts[n + 1]} fields, expected {width}; "
            "the file looks truncated or corrupt."
        )


def header_problem(header: list[str], expected: list[str], version: int = SCHEMA_VERSION) -> str:
    missing = [c for c in expected if c not in header]
    extra = [c for c in header if c not in expected]
    if missing or extra:
        return (
            f"columns do not match schema version {version}: missing {missing or 'none'}, "
            f"unexpected {extra or 'none'} (truncated header or another bench version?)."
        )
    return f"columns are in the wrong order; expected {', '.join(expected)}."


def _fast(text: str, kinds: dict[str, str]) -> pd.DataFrame:
    dtypes = {c: (object if k == "str" else "float64") for c, k in kinds.items()}
    frame = pd.read_csv(
        io.StringIO(text), dtype=dtypes, keep_default_na=False, na_values=[""], engine="c"
    )
    for name, kind in kinds.items():
        values = frame[name]
        if kind == "str":
            frame[name] = values.fillna("").astype(str)
        elif kind.startswith("int"):
            arr = values.to_numpy()
            present = ~np.isnan(arr)
            if (kind == "int" and not present.all()) or (arr[present] % 1 != 0).any():
                raise ValueError(name)
            frame[name] = values.astype("int64" if kind == "int" else "Int64")
        elif kind == "float" and values.isna().any():
            raise ValueError(name)
    return frame


def _slow(text: str, kinds: dict[str, str], path: Path) -> pd.DataFrame:
    """Value by value, to report the first bad one (row and column) in the error."""
    body = list(csv.reader(io.StringIO(text)))[1:]
    frame = pd.DataFrame(body, columns=list(kinds), dtype=object)
    for name, kind in kinds.items():
        frame[name] = convert(frame[name], kind, path, name)
    return frame


def convert(values: pd.Series, kind: str, path: Path, field: str) -> pd.Series:
    """Strings → the column's type; '' is missing (allowed only in optional columns)."""
    if kind == "str":
        return values.astype(str)
    numbers = pd.to_numeric(values.where(values != ""), errors="coerce")
    bad = numbers.isna() & (values != "" if kind.endswith("?") else True)
    if kind.startswith("int"):
        bad |= numbers.notna() & (numbers != numbers.round())
    if bad.any():
        n = int(bad.to_numpy().nonzero()[0][0])
        raise AnalysisError(
            f"{path}: row {n + 1}, column {field}: {values.iloc[n]!r} is not "
            f"{'an integer' if kind.startswith('int') else 'a number'}."
        )
    if kind == "int":
        return numbers.astype("int64")
    if kind == "int?":
        return numbers.astype("Int64")
    return numbers.astype("float64")
