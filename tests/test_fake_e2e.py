"""`bench run` end to end with the scripted `fake` runner: real child processes, real files.

The fake runner's time is virtual (unless `sleep = true`), so every phase and epoch lasts exactly
what `[fake]` says and the derived figures can be checked to the digit. Its failures are real:
an exception, `os._exit(3)`, SIGKILL, MemoryError and a hang that only the timeout ends.
"""

from __future__ import annotations

import csv
import json
import os
import statistics
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bench.contract.schema import SCHEMA_VERSION, SINGLE_PHASES, TABLES, columns
from bench.core.config import load
from bench.core.sweep import planned_trials

ROOT = Path(__file__).resolve().parents[1]
EPOCH_S = [3.0, 1.0, 1.5, 1.2]

SWEEP = """
[sweep]
frameworks = ["fake"]
models = ["seed_ffnn"]
devices = ["cpu"]
batch_sizes = {batch_sizes}
threads = [1]
repeats = {repeats}

[train]
epochs = {epochs}
samples = 100
{train_extra}

[fake]
{fake}
"""

SCRIPT = f"phase_s = 0.25\nfirst_step_s = 0.5\nepoch_s = {EPOCH_S}\n"


def bench(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "bench", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def read_table(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    return header, [dict(zip(header, row, strict=True)) for row in rows[1:]]


class Run:
    """One finished `bench run`: its process, folder, tables and run.json."""

    def __init__(self, done: subprocess.CompletedProcess, out: Path, config_path: Path) -> None:
        self.done = done
        self.config_path = config_path
        dirs = [p for p in out.iterdir() if p.is_dir()]
        assert len(dirs) == 1, (dirs, done.stdout, done.stderr)
        self.dir = dirs[0]
        self.meta: dict[str, Any] = json.loads((self.dir / "run.json").read_text())
        self.headers: dict[str, list[str]] = {}
        self.tables: dict[str, list[dict[str, str]]] = {}
        for table in TABLES:
            self.headers[table], self.tables[table] = read_table(self.dir / table)

    @property
    def trials(self) -> list[dict[str, str]]:
        return self.tables["trials.csv"]

    def phases(self, trial_id: str) -> list[dict[str, str]]:
        return [p for p in self.tables["phases.csv"] if p["trial_id"] == trial_id]

    def epochs(self, trial_id: str) -> list[dict[str, str]]:
        return [e for e in self.tables["epochs.csv"] if e["trial_id"] == trial_id]


def run_fake(
    tmp_path: Path,
    fake: str = SCRIPT,
    *,
    repeats: int = 1,
    epochs: int = 4,
    batch_sizes: str = "[16, 32]",
    train_extra: str = "",
) -> Run:
    path = tmp_path / "fake.toml"
    text = SWEEP.format(
        repeats=repeats, epochs=epochs, batch_sizes=batch_sizes, train_extra=train_extra, fake=fake
    )
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    done = bench("run", "--config", str(path), "--out", str(out), cwd=tmp_path)
    assert "Traceback" not in done.stderr, done.stderr
    return Run(done, out, path)


@pytest.fixture(scope="module")
def ok_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return run_fake(tmp_path_factory.mktemp("ok"), repeats=2)


# --- a successful run ----------------------------------------------------------------------------


def test_ok_run_exits_0(ok_run: Run) -> None:
    assert ok_run.done.returncode == 0, ok_run.done.stdout + ok_run.done.stderr
    assert str(ok_run.dir) in ok_run.done.stdout.replace("\n", "")


def test_run_json(ok_run: Run) -> None:
    meta = ok_run.meta
    assert meta["schema_version"] == SCHEMA_VERSION
    assert meta["run_id"] == ok_run.dir.name
    started = datetime.fromisoformat(meta["started_utc"])
    finished = datetime.fromisoformat(meta["finished_utc"])
    assert started.utcoffset() == timedelta(0) and finished.utcoffset() == timedelta(0)
    assert started <= finished
    assert isinstance(meta["command"], list) and "run" in meta["command"]
    assert "--config" in meta["command"]
    config = meta["config"]
    assert config["sweep"]["frameworks"] == ["fake"]
    assert config["train"]["epochs"] == 4
    assert config["fake"]["epoch_s"] == EPOCH_S
    host = meta["host"]
    assert isinstance(host["cpu_model"], str) and host["cpu_model"]
    assert isinstance(host["framework_versions"], dict)
    assert meta["trials_planned"] == len(ok_run.trials)


def test_run_json_config_is_the_resolved_config(ok_run: Run) -> None:
    expected = load(ok_run.config_path, {"output": {"dir": "x"}}, ["--out"]).to_dict()
    got = ok_run.meta["config"]
    assert {k: v for k, v in got.items() if k != "output"} == {
        k: v for k, v in expected.items() if k != "output"
    }


@pytest.mark.parametrize("table", list(TABLES))
def test_headers_are_exactly_the_schema(ok_run: Run, table: str) -> None:
    assert ok_run.headers[table] == columns(TABLES[table])


def test_one_trial_row_per_planned_trial(ok_run: Run) -> None:
    planned = planned_trials(load(ok_run.config_path))
    assert len(planned) == 4  # 2 batch sizes × 2 repeats
    assert [t["trial_id"] for t in ok_run.trials] == [t.trial_id for t in planned]
    assert {t["run_id"] for t in ok_run.trials} == {ok_run.dir.name}
    assert [int(t["order"]) for t in ok_run.trials] == [0, 1, 2, 3]
    for trial in ok_run.trials:
        assert trial["status"] == "ok", trial
        assert trial["exit_code"] == "0" and trial["error"] == ""
        assert trial["framework_version"] == "fake-1"
        assert (trial["params_trainable"], trial["params_non_trainable"]) == ("1000", "10")


def test_logs_kept_and_tmp_removed(ok_run: Run) -> None:
    logs = sorted(p.stem for p in (ok_run.dir / "logs").glob("*.log"))
    assert logs == sorted(t["trial_id"] for t in ok_run.trials)
    assert not (ok_run.dir / "tmp").exists()


def test_phases_in_order_tiling_time(ok_run: Run) -> None:
    for trial in ok_run.trials:
        phases = ok_run.phases(trial["trial_id"])
        assert [p["phase"] for p in phases] == list(SINGLE_PHASES)
        assert float(phases[0]["start_s"]) == 0.0
        for before, after in zip(phases, phases[1:], strict=False):
            expected = float(before["start_s"]) + float(before["duration_s"])
            assert float(after["start_s"]) == pytest.approx(expected)


def test_phase_durations_follow_the_script(ok_run: Run) -> None:
    for trial in ok_run.trials:
        durations = {p["phase"]: float(p["duration_s"]) for p in ok_run.phases(trial["trial_id"])}
        for phase in ("spawn", "import", "device_init", "data", "build", "compile"):
            assert durations[phase] == pytest.approx(0.25), phase
        assert durations["first_step"] == pytest.approx(0.5)
        assert durations["first_epoch_rest"] == pytest.approx(2.5)


def test_epoch_rows(ok_run: Run) -> None:
    for trial in ok_run.trials:
        epochs = ok_run.epochs(trial["trial_id"])
        assert [int(e["epoch"]) for e in epochs] == [1, 2, 3, 4]
        assert [float(e["wall_s"]) for e in epochs] == pytest.approx(EPOCH_S)
        batch = int(trial["batch_size"])
        for e in epochs:
            assert int(e["steps"]) == 100 // batch
            assert int(e["samples"]) == (100 // batch) * batch
            assert int(e["peak_rss_bytes"]) > 0
            assert e["peak_device_bytes"] == ""  # a CPU trial: not measurable, never zero
        assert [float(e["loss"]) for e in epochs] == pytest.approx([1, 1 / 2, 1 / 3, 1 / 4])


def test_headline_figures(ok_run: Run) -> None:
    steady = statistics.median(EPOCH_S[1:])
    assert steady == 1.2
    for trial in ok_run.trials:
        assert float(trial["first_epoch_s"]) == pytest.approx(3.0)
        assert float(trial["steady_epoch_s"]) == pytest.approx(1.2)
        assert float(trial["first_epoch_overhead_s"]) == pytest.approx(1.8)
        assert float(trial["setup_s"]) == pytest.approx(6 * 0.25)
        samples = int(trial["samples_per_epoch"])
        assert samples == int(trial["steps_per_epoch"]) * int(trial["batch_size"])
        assert float(trial["samples_per_s"]) == pytest.approx(samples / 1.2)
        assert int(trial["peak_rss_bytes"]) > 0
        assert trial["peak_device_bytes"] == ""


# --- failures: recorded per trial, the sweep goes on, exit code 1 --------------------------------


def fail_script(how: str, epoch: int = 3) -> str:
    return SCRIPT + f'fail = "{how}"\nfail_epoch = {epoch}\n'


def test_raise_is_failed_and_keeps_earlier_epochs(tmp_path: Path) -> None:
    run = run_fake(tmp_path, fail_script("raise"))
    assert run.done.returncode == 1
    assert len(run.trials) == 2, "the second trial still ran"
    for trial in run.trials:
        assert trial["status"] == "failed"
        assert "RuntimeError" in trial["error"] and "scripted failure" in trial["error"]
        assert [int(e["epoch"]) for e in run.epochs(trial["trial_id"])] == [1, 2]
        assert [p["phase"] for p in run.phases(trial["trial_id"])] == list(SINGLE_PHASES)
        assert float(trial["first_epoch_s"]) == pytest.approx(3.0)
        log = (run.dir / "logs" / f"{trial['trial_id']}.log").read_text()
        assert "Traceback" in log and "scripted failure" in log


def test_raise_in_first_epoch_keeps_setup_phases(tmp_path: Path) -> None:
    run = run_fake(tmp_path, fail_script("raise", epoch=1))
    assert run.done.returncode == 1
    for trial in run.trials:
        assert trial["status"] == "failed"
        assert run.epochs(trial["trial_id"]) == []
        assert [p["phase"] for p in run.phases(trial["trial_id"])] == list(
            SINGLE_PHASES[: SINGLE_PHASES.index("first_step")]
        )
        assert float(trial["setup_s"]) == pytest.approx(1.5)
        assert trial["first_epoch_s"] == "" and trial["steady_epoch_s"] == ""


def test_kill_is_failed_with_sigkill(tmp_path: Path) -> None:
    run = run_fake(tmp_path, fail_script("kill"))
    assert run.done.returncode == 1
    for trial in run.trials:
        assert trial["status"] == "failed"
        assert "SIGKILL" in trial["error"]
        assert trial["exit_code"] == "-9"
        assert [int(e["epoch"]) for e in run.epochs(trial["trial_id"])] == [1, 2]


def test_memory_error_is_oom(tmp_path: Path) -> None:
    run = run_fake(tmp_path, fail_script("oom"))
    assert run.done.returncode == 1
    for trial in run.trials:
        assert trial["status"] == "oom"
        assert "MemoryError" in trial["error"]
        assert [int(e["epoch"]) for e in run.epochs(trial["trial_id"])] == [1, 2]


def test_exit_is_failed_with_its_code(tmp_path: Path) -> None:
    run = run_fake(tmp_path, fail_script("exit"))
    assert run.done.returncode == 1
    for trial in run.trials:
        assert trial["status"] == "failed"
        assert trial["exit_code"] == "3"
        assert "exited with code 3" in trial["error"]
        assert "scripted exit" in trial["error"], "the log's tail is in the error"


def test_hang_times_out_and_the_sweep_goes_on(tmp_path: Path) -> None:
    script = (
        "phase_s = 0.01\nfirst_step_s = 0.01\nepoch_s = [0.02]\nsleep = true\n"
        'fail = "hang"\nfail_epoch = 2\n'
    )
    run = run_fake(
        tmp_path, script, repeats=2, epochs=3, batch_sizes="[32]", train_extra="timeout_s = 2"
    )
    assert run.done.returncode == 1
    assert len(run.trials) == 2, "every planned trial has a row"
    assert [t["repeat"] for t in run.trials] == ["0", "1"]
    assert run.meta["finished_utc"] is not None
    for trial in run.trials:
        assert trial["status"] == "timeout", trial
        assert "timeout" in trial["error"]
        assert [int(e["epoch"]) for e in run.epochs(trial["trial_id"])] == [1]
        assert [p["phase"] for p in run.phases(trial["trial_id"])] == list(SINGLE_PHASES)


# --- output location -----------------------------------------------------------------------------


def test_unwritable_out_exits_2_naming_the_folder(tmp_path: Path) -> None:
    config = tmp_path / "fake.toml"
    config.write_text(
        SWEEP.format(repeats=1, epochs=4, batch_sizes="[16]", train_extra="", fake=SCRIPT)
    )
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    out = blocker / "sub"
    done = bench("run", "--config", str(config), "--out", str(out), cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count("bench: error:") == 1
    assert str(out) in done.stderr
    assert blocker.read_text() == "not a folder"


def test_a_slow_last_epoch_is_reported_as_such_not_as_drift(tmp_path: Path) -> None:
    """The bare-Keras pattern (≈0.16 s steady, ≈0.4 s last), scripted: the report names a
    final-epoch effect and does not advise more epochs."""
    script = "phase_s = 0.25\nfirst_step_s = 0.5\nepoch_s = [3.0, 1.0, 1.0, 1.0, 1.0, 2.5]\n"
    run = run_fake(tmp_path, script, repeats=3, epochs=6, batch_sizes="[16]")
    report = (run.dir / "report.md").read_text(encoding="utf-8")
    assert "the last epoch (6) is +150% slower than epochs 2..5" in report
    assert "final-epoch effect" in report and "not yet steady —" not in report
    assert all(float(t["steady_epoch_s"]) == pytest.approx(1.0) for t in run.trials)
