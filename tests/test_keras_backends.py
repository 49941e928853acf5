"""Keras's promise is one model on three backends: every backend trains here, for real.

TensorFlow is exercised everywhere else; these run Keras on JAX (eager and XLA) and on torch
(eager; `xla` there is torch.compile, in the slow set) through the CLI, each trial in its own
process, and check what a user checks: `ok`, every phase, the backend named in trials.csv.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from conftest import only_run_dir, read_csv, run_cli

from bench.contract.schema import SINGLE_PHASES

BASE = ["run", "--frameworks", "keras", "--models", "seed_ffnn", "--devices", "cpu"]
BASE += ["--epochs", "2", "--samples", "128", "--batch-sizes", "32", "--threads", "1"]
BASE += ["--repeats", "1"]
BASE += ["--set", "sweep.warmup=0", "--no-report", "-q"]


def run_backends(tmp_path: Path, backends: str, modes: str) -> list[dict[str, str]]:
    for backend in backends.split(","):
        if importlib.util.find_spec(backend) is None or importlib.util.find_spec("keras") is None:
            pytest.skip(f"Keras or its {backend} backend is not installed")
    args = [*BASE, "--keras-backends", backends, "--keras-modes", modes, "--out", str(tmp_path)]
    done = run_cli(*args, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    run_dir = only_run_dir(tmp_path)
    trials = read_csv(run_dir / "trials.csv")
    phases = read_csv(run_dir / "phases.csv")
    for t in trials:
        assert t["status"] == "ok", t
        assert [p["phase"] for p in phases if p["trial_id"] == t["trial_id"]] == list(SINGLE_PHASES)
    return trials


def test_keras_on_jax_and_torch_train_eagerly(tmp_path: Path) -> None:
    trials = run_backends(tmp_path, "jax,torch", "eager")
    assert sorted(t["backend"] for t in trials) == ["jax", "torch"]
    assert all(f"({t['backend']}" in t["framework_version"] for t in trials)


def test_keras_on_jax_compiles_with_xla(tmp_path: Path) -> None:
    (trial,) = run_backends(tmp_path, "jax", "xla")
    assert trial["mode"] == "xla" and float(trial["first_step_s"]) > 0


@pytest.mark.slow
def test_keras_on_torch_compiles(tmp_path: Path) -> None:
    (trial,) = run_backends(tmp_path, "torch", "xla")
    assert trial["mode"] == "xla"
