"""Keras's promise is one model on three backends: every backend trains here, for real.

TensorFlow is exercised everywhere else; these run Keras on JAX (eager and XLA) and on torch
(eager; `xla` there is torch.compile, in the slow set) through the CLI, each trial in its own
process, and check what a user checks: `ok`, every phase, the backend named in trials.csv;
and that a warm Keras-on-JAX cache holds every compiled computation, not only the slow ones.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import only_run_dir, read_csv, run_cli

from bench.contract.schema import SINGLE_PHASES
from bench.core.config import load
from bench.core.plan import plan
from bench.hardware.devices import cpu_device
from bench.launchers.local import child_env

BASE = ["run", "--frameworks", "keras", "--models", "seed_ffnn", "--devices", "cpu"]
BASE += ["--epochs", "2", "--samples", "128", "--batch-sizes", "32", "--threads", "1"]
BASE += ["--repeats", "1"]
BASE += ["--set", "sweep.warmup=0", "--no-report", "-q"]


def run_backends(tmp_path: Path, backends: str, modes: str, *more: str) -> list[dict[str, str]]:
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


def test_a_jax_child_is_told_to_cache_every_computation(tmp_path: Path) -> None:
    if importlib.util.find_spec("jax") is None:
        pytest.skip("JAX is not installed")
    doc = {"sweep": {"frameworks": ["keras"], "keras_backends": ["jax"], "models": ["seed_ffnn"],
                     "keras_modes": ["xla"], "caches": ["cold", "warm"], "repeats": 1}}  # fmt: skip
    for trial in plan(load(None, doc, ["test"]), [cpu_device()], 1):
        env = child_env(trial, tmp_path / "cache")
        assert env["JAX_COMPILATION_CACHE_DIR"] == str(tmp_path / "cache" / "jax")
        assert env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] == "0", trial.cache
    # JAX itself reads them so when it starts (its defaults: 1 s, and a size floor)
    names = ["jax_compilation_cache_dir", "jax_persistent_cache_min_compile_time_secs",
             "jax_persistent_cache_min_entry_size_bytes"]  # fmt: skip
    read = f"import json, jax; print(json.dumps([getattr(jax.config, n) for n in {names}]))"
    done = subprocess.run([sys.executable, "-c", read], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == [str(tmp_path / "cache" / "jax"), 0.0, -1]


@pytest.mark.slow
def test_a_warm_keras_jax_cache_holds_the_quick_computations_too(tmp_path: Path) -> None:
    if importlib.util.find_spec("jax") is None:
        pytest.skip("JAX is not installed")
    args = [*BASE, "--keras-backends", "jax", "--keras-modes", "xla", "--caches", "cold,warm"]
    done = run_cli(*args, "--out", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    (run,) = (p for p in tmp_path.iterdir() if p.name != ".cache")
    trials = read_csv(run / "trials.csv")
    assert [(t["cache"], t["status"]) for t in trials] == [("cold", "ok"), ("warm", "ok")]
    (cache,) = (tmp_path / ".cache").iterdir()
    names = {p.name.rsplit("-", 2)[0] for p in (cache / "jax").glob("*-cache")}
    # JAX's defaults keep only computations that took 1 s or more to compile: on a quick CPU
    # not even the train step; every small op (broadcasts, casts) never
    assert "jit_train_step" in names and len(names) > 1, names
