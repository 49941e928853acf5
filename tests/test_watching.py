"""Watching a sweep: live set-up phases, a result line per trial, the time left, the
per-configuration summary, `--json`, and untimed warm-up trials that leave no rows."""

from __future__ import annotations

import io
import json
import statistics
from pathlib import Path

import pytest
from conftest import only_run_dir, read_csv, run_cli
from rich.console import Console

from bench.cli.progress import Display
from bench.contract.headline import median_interval
from bench.core.config import load
from bench.core.plan import plan
from bench.hardware.devices import cpu_device
from bench.launchers.local import run_trial

FAKE = ["--frameworks", "fake", "--devices", "cpu", "--no-report"]


def fake_trials(**fake: object) -> list:
    cfg = load(
        None,
        {
            "sweep": {"frameworks": ["fake"], "models": ["seed_cnn", "seed_ffnn"], "repeats": 2},
            "fake": {"phase_s": 0.0, "first_step_s": 0.0, "epoch_s": [0.0], **fake},
            "train": {"timeout_s": 6.0},
        },
        ["test"],
    )
    return plan(cfg, [cpu_device()], 1)


def test_setup_phases_reach_the_parent_while_the_child_runs(tmp_path: Path) -> None:
    """A child that hangs in epoch 1 and is stopped has already handed over its set-up phases
    (before, phases were written only when epoch 1 ended)."""
    trial = fake_trials(sleep=True, fail="hang", fail_epoch=1)[0]
    seen: list[str] = []
    outcome = run_trial(
        trial, tmp_path / "work", tmp_path / "log", lambda e: seen.append(e.get("phase", ""))
    )
    assert outcome.status == "timeout"
    assert [p for p in seen if p] == ["spawn", "harness", "import", "device_init", "data", "build"]


def test_display_names_the_next_phase_prints_a_line_per_trial_and_the_time_left() -> None:
    out = io.StringIO()
    display = Display(Console(file=out, force_terminal=True, width=200))
    trials = fake_trials()
    display.start(Path("results/x"), trials)
    display.trial_started(trials[0])
    display.on_event({"event": "phase", "phase": "import", "start_s": 0, "duration_s": 1})
    assert "device init" in display._progress.tasks[0].description
    assert display.eta.remaining(trials) is None, "no estimate before a trial has finished"

    from bench.core.rows import trial_rows

    row = trial_rows("r", trials[0], "ok", 0, "", [], None)["trials.csv"][0]
    display.trial_done(row)
    assert display.eta.remaining(trials[1:]) is not None
    display.stop()
    assert f"[1/{len(trials)}] {trials[0].trial_id}: ok" in out.getvalue()


def test_a_failed_trial_line_gives_the_reason_and_the_log(tmp_path: Path) -> None:
    done = run_cli(
        "run", *FAKE, "--models", "seed_cnn", "--set", "fake.fail=raise", "--repeats", "1",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1
    line = next(x for x in done.stdout.splitlines() if x.startswith("[1/1]"))
    assert ": failed — " in line and "logs/000-fake-scripted-seed_cnn" in line


def test_summary_is_one_row_per_configuration(tmp_path: Path) -> None:
    done = run_cli("run", *FAKE, "--models", "seed_cnn,seed_ffnn", "--repeats", "3", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = [x for x in done.stdout.splitlines() if "3/3 ok" in x]
    assert len(rows) == 2 and "75%" in rows[0], done.stdout


def test_json_summary_parses_and_holds_every_configuration(tmp_path: Path) -> None:
    done = run_cli(
        "run", *FAKE, "--models", "seed_cnn,seed_ffnn", "--repeats", "2", "--json", cwd=tmp_path
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["exit_code"] == 0 and len(document["configurations"]) == 2
    config = document["configurations"][0]
    assert config["repeats"] == 2 and config["steady_epoch_s"] > 0
    run_dir = Path(document["run_dir"])
    again = run_cli("report", "--json", str(run_dir), cwd=tmp_path)
    assert (
        json.loads(again.stdout)["configurations"][1]["label"]
        == (document["configurations"][1]["label"])
    )


@pytest.mark.parametrize(
    ("n", "level", "ranks"), [(3, 0.75, (1, 3)), (6, 0.96875, (1, 6)), (10, 0.978515625, (2, 9))]
)
def test_median_interval_has_its_exact_confidence(n: int, level: float, ranks: tuple) -> None:
    values = [float(v) for v in range(1, n + 1)]
    low, high, got = median_interval(values[::-1])
    assert (low, high) == (float(ranks[0]), float(ranks[1])) and got == pytest.approx(level)
    assert low <= statistics.median(values) <= high


def test_dry_run_estimates_from_earlier_runs(tmp_path: Path) -> None:
    args = ["run", *FAKE, "--models", "seed_cnn", "--dry-run"]
    assert "estimate: no estimate" in run_cli(*args, cwd=tmp_path).stdout
    assert run_cli("run", *FAKE, "--models", "seed_cnn", cwd=tmp_path).returncode == 0
    assert "estimate: about" in run_cli(*args, cwd=tmp_path).stdout


def test_warm_up_trials_are_untimed_and_write_no_rows(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    done = run_cli(
        "run", "--frameworks", "torch", "--models", "seed_ffnn", "--devices", "cpu",
        "--epochs", "2", "--samples", "128", "--threads", "1", "--repeats", "1", "--no-report",
        "--out", str(tmp_path), cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    run_dir = only_run_dir(tmp_path)
    meta = json.loads((run_dir / "run.json").read_text())
    assert [(w["framework"], w["status"]) for w in meta["warmup"]] == [("torch", "ok")]
    for table in ("trials.csv", "phases.csv", "epochs.csv"):
        assert not any("warmup" in r["trial_id"] for r in read_csv(run_dir / table))
    assert not any("warmup" in p.name for p in (run_dir / "logs").iterdir())


def run_dirs(out: Path) -> list[Path]:
    """The run folders in `out` (not the `.cache` folder beside them)."""
    return sorted(p for p in out.iterdir() if p.is_dir() and not p.name.startswith("."))


def test_warm_caches_are_filled_once_untimed_and_keyed_by_configuration(tmp_path: Path) -> None:
    args = ["run", *FAKE, "--models", "seed_cnn,seed_ffnn", "--repeats", "2", "--caches", "warm"]
    first = run_cli(*args, "--out", str(tmp_path / "a"), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    meta = json.loads((run_dirs(tmp_path / "a")[0] / "run.json").read_text())
    fills = meta["cache_fills"]
    assert [f["status"] for f in fills] == ["ok", "ok"], "one fill per configuration"
    assert {f["cache"].split("-")[0] for f in fills} == {
        "fake.fake.scripted.seed_cnn",
        "fake.fake.scripted.seed_ffnn",
    }
    trials = read_csv(run_dirs(tmp_path / "a")[0] / "trials.csv")
    assert len(trials) == 4 and not any(t["trial_id"].startswith("fill") for t in trials)
    second = run_cli(*args, "--out", str(tmp_path / "a"), "--name", "again", cwd=tmp_path)
    again = [p for p in run_dirs(tmp_path / "a") if p.name.endswith("again")][0]
    assert "cache_fills" not in json.loads((again / "run.json").read_text()), second.stdout


def test_compare_fail_above_gates_on_significant_slowdowns(tmp_path: Path) -> None:
    args = ["run", *FAKE, "--models", "seed_cnn", "--repeats", "4", "--out", str(tmp_path)]
    assert run_cli(*args, "--name", "base", cwd=tmp_path).returncode == 0
    slow = ["--set", "fake.epoch_s=3.0,1.5"]
    assert run_cli(*args, *slow, "--name", "slow", cwd=tmp_path).returncode == 0
    base, other = (next(tmp_path.glob(f"*-{n}")) for n in ("base", "slow"))
    gate = run_cli("compare", str(base), str(other), "--fail-above", "1.2", cwd=tmp_path)
    assert gate.returncode == 1, gate.stdout + gate.stderr
    assert "slower than 1.2×: steady epoch" in gate.stderr and "1.50×" in gate.stderr
    assert "verdict" in gate.stdout
    calm = run_cli("compare", str(base), str(other), "--fail-above", "2", cwd=tmp_path)
    assert calm.returncode == 0, calm.stdout + calm.stderr
    # only the first epoch slower (steady epoch unchanged): the overhead rows alone fail — the
    # fake's epoch 1 spreads its extra time over every step, so in steps it never settles
    first = ["--set", "fake.epoch_s=3.0,1.0"]
    assert run_cli(*args, *first, "--name", "first", cwd=tmp_path).returncode == 0
    other = next(tmp_path.glob("*-first"))
    gate = run_cli("compare", str(base), str(other), "--fail-above", "1.5", cwd=tmp_path)
    assert gate.returncode == 1, gate.stdout + gate.stderr
    failing = [line for line in gate.stderr.splitlines() if line.startswith("slower than")]
    assert len(failing) == 2 and all("2.00×" in line for line in failing)
    assert "first-epoch overhead" in failing[0] and "step-based overhead" in failing[1]
    assert f"in {other.name}:" in failing[0]  # the run is named by its folder
