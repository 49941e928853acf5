"""Every trials.csv column has exactly one role, so a new column cannot be forgotten by the
analysis: identity (what a configuration is), repeat index, or measurement."""

from __future__ import annotations

from bench.contract.schema import (
    IDENTITY_COLUMNS,
    MACHINE_COLUMNS,
    MEASURED_COLUMNS,
    REPEAT_COLUMNS,
    TrialRow,
    columns,
)


def test_every_trials_column_has_exactly_one_role() -> None:
    roles = {"identity": IDENTITY_COLUMNS, "repeat": REPEAT_COLUMNS, "measured": MEASURED_COLUMNS}
    header = columns(TrialRow)
    unclassified = [c for c in header if not any(c in cols for cols in roles.values())]
    assert not unclassified, (
        f"trials.csv columns without a role: {unclassified}; add each to IDENTITY_COLUMNS "
        "(a sweep dimension: it then separates configurations and aligns runs), "
        "REPEAT_COLUMNS or MEASURED_COLUMNS in bench/contract/schema.py"
    )
    named = [c for cols in roles.values() for c in cols]
    assert sorted(named) == sorted(header), "a role names a column twice or one not in the schema"
    assert set(MACHINE_COLUMNS) <= set(IDENTITY_COLUMNS)


def test_sweep_dimensions_are_identity() -> None:
    # the columns the review found missing from the alignment key
    for column in ("pipeline", "workers", "augment", "epochs", "samples_per_epoch", "precision"):
        assert column in IDENTITY_COLUMNS and column not in MACHINE_COLUMNS
