"""Real PyTorch and Keras trials on the CPU at tiny size, through the CLI, in child processes.

These check what a user checks first: every trial ends `ok`, each has the eight phases and one
row per epoch, the parameter counts the frameworks report equal the spec's analytic count, and
the first epoch carries the start-up work (it is slower than the steady ones).
"""

from __future__ import annotations

import importlib.util

import pytest
from conftest import only_run_dir, read_csv, run_cli

from bench.contract.schema import SINGLE_PHASES
from bench.contract.steps import step_figures
from models import flops, zoo

FRAMEWORKS = [
    fw
    for fw, mods in (("torch", ["torch"]), ("keras", ["keras", "tensorflow"]))
    if all(importlib.util.find_spec(m) for m in mods)
]
pytestmark = pytest.mark.skipif(not FRAMEWORKS, reason="neither torch nor keras installed")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    proc = run_cli(
        "run",
        "--frameworks",
        ",".join(FRAMEWORKS),
        "--models",
        "seed_cnn,seed_ffnn",
        "--devices",
        "cpu",
        "--batch-sizes",
        "32",
        "--epochs",
        "3",
        "--samples",
        "256",
        "--threads",
        "1",
        "--repeats",
        "1",
        "--set",
        "sweep.warmup=0",  # untimed warm-ups are tested in test_watching
        "--out",
        str(out),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return only_run_dir(out)


def test_every_trial_ok_with_all_phases_and_epochs(run_dir):
    trials = read_csv(run_dir / "trials.csv")
    assert len(trials) == 2 * len(FRAMEWORKS)
    phases = read_csv(run_dir / "phases.csv")
    epochs = read_csv(run_dir / "epochs.csv")
    for t in trials:
        assert t["status"] == "ok", t
        assert t["steps_per_epoch"] == "8" and t["threads"] == "1"
        mine = [p["phase"] for p in phases if p["trial_id"] == t["trial_id"]]
        assert mine == list(SINGLE_PHASES)
        rows = [e for e in epochs if e["trial_id"] == t["trial_id"]]
        assert [int(e["epoch"]) for e in rows] == [1, 2, 3]
        assert all(float(e["wall_s"]) > 0 and int(e["peak_rss_bytes"]) > 0 for e in rows)
        assert all(float(e["loss"]) > 0 for e in rows)
        assert (run_dir / "logs" / f"{t['trial_id']}.log").exists()


def test_every_step_is_on_the_record(run_dir):
    """steps.csv: epochs × steps rows per trial, each epoch's steps 1..N; the steady steps'
    figures and the step-based overhead in trials.csv (torch: host timestamps per step; Keras:
    its batch callback, the last step closed at the epoch's end)."""
    steps = read_csv(run_dir / "steps.csv")
    for t in read_csv(run_dir / "trials.csv"):
        mine = [s for s in steps if s["trial_id"] == t["trial_id"]]
        assert len(mine) == 3 * 8, t["trial_id"]
        assert [(s["epoch"], s["step"]) for s in mine] == [
            (str(e), str(k)) for e in (1, 2, 3) for k in range(1, 9)
        ]
        assert all(float(s["wall_s"]) > 0 for s in mine)
        epoch_1 = sum(float(s["wall_s"]) for s in mine if s["epoch"] == "1")
        assert epoch_1 == pytest.approx(float(t["first_epoch_s"]), rel=0.05)
        assert float(t["step_p50_s"]) <= float(t["step_p90_s"]) <= float(t["step_p99_s"])
        # the trial's step figures are those of its own steps.csv rows (whether epoch 1 ran
        # slower than the steady steps is timing, which this shared machine does not promise)
        walls: dict[int, list[float]] = {}
        for s in mine:
            walls.setdefault(int(s["epoch"]), []).append(float(s["wall_s"]))
        figures = step_figures(walls)
        assert (
            int(t["settle_steps"]) == figures["settle_steps"] and 0 <= figures["settle_steps"] <= 8
        )
        for name in ("step_p50_s", "step_p90_s", "step_overhead_s"):
            assert float(t[name]) == pytest.approx(figures[name], rel=1e-6, abs=1e-6), name


def test_framework_parameter_counts_equal_the_spec(run_dir):
    for t in read_csv(run_dir / "trials.csv"):
        trainable, non_trainable = flops.param_counts(zoo.get(t["model"]))
        assert int(t["params_trainable"]) == trainable, t
        assert int(t["params_non_trainable"]) == non_trainable, t
    expected = {"seed_cnn": 1_475_146, "seed_ffnn": 44_458}
    for t in read_csv(run_dir / "trials.csv"):
        assert int(t["params_trainable"]) == expected[t["model"]]


def test_first_epoch_carries_the_start_up_work(run_dir):
    for t in read_csv(run_dir / "trials.csv"):
        # The first step alone (tracing, allocator warm-up) is slower than an average step.
        first_step = next(
            float(p["duration_s"])
            for p in read_csv(run_dir / "phases.csv")
            if p["trial_id"] == t["trial_id"] and p["phase"] == "first_step"
        )
        steady_step = float(t["steady_epoch_s"]) / int(t["steps_per_epoch"])
        assert first_step > steady_step, t
        assert float(t["first_epoch_s"]) == pytest.approx(
            float(t["first_epoch_overhead_s"]) + float(t["steady_epoch_s"])
        )
