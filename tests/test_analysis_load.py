"""Loading run folders: schema validation and the errors a user sees for bad input."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from test_analysis_support import as_version, copy_run, fake_run, run_module, run_module_code

from analysis.load import AnalysisError, load_runs
from analysis.report import write_report
from bench.contract.schema import (
    ADDED_IN_VERSION,
    OLDER_VALUES,
    SCHEMA_VERSION,
    TABLES,
    SampleRow,
    TrialRow,
    columns,
    columns_in_version,
)


@pytest.fixture
def run(tmp_path: Path) -> Path:
    """A writable copy of a small finished fake run (one trial)."""
    return copy_run(fake_run("load"), tmp_path)


def test_loads_every_table_typed(run: Path) -> None:
    runs = load_runs([run])
    assert list(runs.trials.columns) == columns(TABLES["trials.csv"])
    assert list(runs.epochs.columns) == columns(TABLES["epochs.csv"])
    assert set(runs.extra) == set(TABLES) - {"trials.csv", "phases.csv", "epochs.csv"}
    assert runs.epochs["wall_s"].dtype == float and runs.epochs["epoch"].dtype == "int64"
    assert runs.run_ids == [json.loads((run / "run.json").read_text())["run_id"]]
    assert runs.epochs["peak_device_bytes"].isna().all()  # empty cell: not measured


def test_same_run_id_from_two_folders_is_kept_apart(run: Path, tmp_path: Path) -> None:
    twin = tmp_path / "twin"
    twin.mkdir()
    runs = load_runs([run, copy_run(run, twin)])
    first, second = runs.run_ids
    assert second == first + "#2"
    assert set(runs.trials["run_id"]) == {first, second} and len(runs.trials) == 2


def expect_error(paths: list[Path], *fragments: str) -> str:
    with pytest.raises(AnalysisError) as info:
        load_runs(paths)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_missing_csv(run: Path) -> None:
    (run / "epochs.csv").unlink()
    expect_error([run], str(run / "epochs.csv"), "missing")


def test_missing_run_json_and_folder(run: Path, tmp_path: Path) -> None:
    expect_error([tmp_path / "nope"], str(tmp_path / "nope"), "no such folder")
    (run / "run.json").unlink()
    expect_error([run], str(run / "run.json"), "missing")


def test_a_line_cut_off_is_not_a_row(run: Path) -> None:
    """A committed `ok` trial whose last epoch row was cut off is incomplete: refused, with the
    fix; a trials.csv row cut off is no commit, so that trial's rows are not read at all."""
    path = run / "epochs.csv"
    path.write_bytes(path.read_bytes()[:-7])
    expect_error([run], str(run / "trials.csv"), "line 2", "incomplete", "5 of 6", "--resume")
    trials = run / "trials.csv"
    trials.write_bytes(trials.read_bytes()[:-7])
    expect_error([run], str(trials), "no trials")


def test_truncated_csv_short_row(run: Path) -> None:
    path = run / "phases.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines[:-1], lines[-1].rsplit(",", 2)[0]]) + "\n")
    expect_error([run], str(path), "fields")


def test_truncated_header_and_empty_file(run: Path) -> None:
    path = run / "trials.csv"
    path.write_text("run_id,trial_id,ord\n")
    expect_error([run], str(path), "missing")
    path.write_text("")
    expect_error([run], str(path), "truncated")


def test_truncated_run_json(run: Path) -> None:
    path = run / "run.json"
    path.write_text(path.read_text()[:40])
    expect_error([run], str(path), "JSON")


def test_wrong_schema_version(run: Path) -> None:
    path = run / "run.json"
    meta = json.loads(path.read_text())
    path.write_text(json.dumps(meta | {"schema_version": SCHEMA_VERSION + 1}))
    expect_error([run], str(path), f"schema_version is {SCHEMA_VERSION + 1}")


# trials.csv columns that schema version 4 added (GPU UUID, MIG board-level readings, the
# device-wide calibrated peak's framework and the framework's own MFU, the spec note)
ADDED_IN_4 = (
    "device_uuid",
    "gpu_readings",
    "peak_calibrated_by",
    "mfu_calibrated_own",
    "peak_spec_note",
)


def added_since(version: int, table: str) -> list[str]:
    """The columns added after `version`, less those an older folder reads with a value."""
    added = [c for v, t in ADDED_IN_VERSION.items() if v > version for c in t.get(table, ())]
    return [c for c in added if c not in OLDER_VALUES]


def test_a_version_4_folder_ran_default_autotuning_on_spec_models(run: Path) -> None:
    """Before version 5 every framework autotuned as it ships, bench built every model from
    its spec and every trial ran on one device: `autotune` reads "default", `definition`
    "spec", `parallel` "single", `world_size` 1."""
    assert {"autotune", "definition"}.isdisjoint(columns_in_version(TrialRow, 4))
    runs = load_runs([as_version(run, 4)])
    assert list(runs.trials.columns) == columns(TrialRow)
    assert runs.trials["autotune"].tolist() == ["default"]
    assert runs.trials["definition"].tolist() == ["spec"]
    assert runs.trials["parallel"].tolist() == ["single"]
    assert runs.trials["world_size"].tolist() == [1]
    assert runs.trials["world_size"].dtype == "int64"
    assert runs.extra["ranks.csv"].empty


@pytest.mark.parametrize("version", [3, 4])
def test_an_older_folder_loads_and_reports(run: Path, tmp_path: Path, version: int) -> None:
    runs = load_runs([as_version(run, version)])
    assert list(runs.trials.columns) == columns(TrialRow)  # today's columns, in order
    assert list(runs.extra["samples.csv"].columns) == columns(SampleRow)
    added = runs.trials[added_since(version, "trials.csv")]
    assert added.apply(lambda c: c.isna() | (c == "")).all().all()
    assert runs.extra["samples.csv"][added_since(version, "samples.csv")].isna().all().all()
    assert runs.trials["status"].tolist() == ["ok"]
    written = write_report([run], tmp_path / "report")
    assert (tmp_path / "report" / "report.md") in written


def test_a_version_3_folder_must_have_the_version_3_header(run: Path) -> None:
    meta = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps(meta | {"schema_version": 3}))
    expect_error([run], str(run / "trials.csv"), "schema version 3", "device_uuid")
    (run / "run.json").write_text(json.dumps(meta | {"schema_version": 4}))
    expect_error([run], str(run / "trials.csv"), "schema version 4", "load_avg_1m_before")
    (run / "run.json").write_text(json.dumps(meta | {"schema_version": 2}))
    expect_error([run], "schema_version is 2", "versions 3 to")


def test_columns_added_since_version_3_are_optional() -> None:
    assert ADDED_IN_VERSION[4]["trials.csv"] == ADDED_IN_4
    for table, row_type in TABLES.items():
        if not columns_in_version(row_type, 3):  # a table added later (ranks.csv) reads empty
            continue
        defaults = {f.name: f.default for f in dataclasses.fields(row_type)}
        assert all(defaults[c] in ("", None) for c in added_since(3, table)), table


def test_empty_run(run: Path) -> None:
    path = run / "trials.csv"
    path.write_text(path.read_text().splitlines()[0] + "\n")
    for name in ("phases.csv", "epochs.csv"):
        (run / name).write_text((run / name).read_text().splitlines()[0] + "\n")
    expect_error([run], str(path), "empty")


def test_bad_value_and_uncommitted_trial(run: Path) -> None:
    path = run / "epochs.csv"
    original = path.read_text()
    header, first, *rest = original.splitlines()
    cells = first.split(",")
    cells[3] = "fast"
    path.write_text("\n".join([header, ",".join(cells), *rest]) + "\n")
    expect_error([run], str(path), "row 1, column wall_s", "'fast'")
    cells = first.split(",")
    cells[1] = "999-ghost"  # a trial without a trials.csv row: never committed, never read
    path.write_text("\n".join([header, ",".join(cells), *rest]) + "\n")
    expect_error([run], str(run / "trials.csv"), "incomplete", "5 of 6 epochs")


@pytest.mark.parametrize(
    ("table", "change", "fragments"),
    [
        ("trials.csv", "twice", ("line 3", "a second row for trial_id")),
        ("epochs.csv", "twice", ("line 3", "a second row for trial_id", "epoch 1")),
        ("phases.csv", "twice", ("line 3", "phase 'spawn'")),
        ("epochs.csv", "1e400", ("line 2", "wall_s = inf", "a finite number")),
        ("phases.csv", "-1", ("line 2", "duration_s = -1.0", "≥ 0")),
    ],
)
def test_rows_no_run_can_produce_are_refused(
    run: Path, table: str, change: str, fragments: tuple[str, ...]
) -> None:
    path = run / table
    header, first, *rest = path.read_text().splitlines()
    if change == "twice":
        lines = [header, first, first, *rest]
    else:
        cells = first.split(",")
        cells[3 if table == "epochs.csv" else 4] = change
        lines = [header, ",".join(cells), *rest]
    path.write_text("\n".join(lines) + "\n")
    expect_error([run], str(path), *fragments)


def test_cli_error_is_one_paragraph_exit_2(run: Path) -> None:
    (run / "epochs.csv").unlink()
    done = run_module("analysis", str(run))
    assert done.returncode == 2
    assert done.stderr.startswith("analysis: error: ") and str(run / "epochs.csv") in done.stderr
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1


# What analysis reads from bench: its contract (the tables' schema, the headline figures), and
# the settings' declarations (for their labels and choices) with what they are made of.
ANALYSIS_READS = (
    "bench", "bench.errors", "bench.core", "bench.core.labels",
    "bench.core.rules", "bench.core.settings", "bench.core.settings_more", "bench.hardware",
    "bench.hardware.precision",
)  # fmt: skip


def test_analysis_imports_no_framework_and_only_the_contract_and_settings_from_bench() -> None:
    code = (
        "import sys, analysis.report, analysis.compare, analysis.__main__; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'tensorflow', 'keras')]; "
        "extra = [m for m in sys.modules if m.startswith('bench') and m not in "
        f"{ANALYSIS_READS!r} and not m.startswith('bench.contract')]; print(bad + extra)"
    )
    done = run_module_code(code)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stdout + done.stderr
