"""Execution modes show their signature on the CPU at tiny size.

Keras graph mode traces its train step in the first step, so that step is far slower than a
steady one; XLA compiles there too; eager mode has no tracing. torch.compile's first step carries
the compile time that torch itself reports (slow: ~20-30 s on 2 cores, so marked `slow`).
"""

from __future__ import annotations

import importlib.util

import pytest
from conftest import only_run_dir, read_csv, run_cli

HAVE_KERAS = all(importlib.util.find_spec(m) for m in ("keras", "tensorflow"))
HAVE_TORCH = importlib.util.find_spec("torch") is not None


def _run(tmp_path, *flags: str, config: str = ""):
    cfg = tmp_path / "modes.toml"
    cfg.write_text(config)
    proc = run_cli(
        "run",
        "--config",
        str(cfg),
        "--models",
        "seed_ffnn",
        "--devices",
        "cpu",
        "--batch-sizes",
        "32",
        "--epochs",
        "3",
        "--samples",
        "320",
        "--threads",
        "1",
        "--repeats",
        "1",
        "--set",
        "sweep.warmup=0",  # untimed warm-ups are tested in test_watching
        "--out",
        str(tmp_path / "out"),
        *flags,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run_dir = only_run_dir(tmp_path / "out")
    trials = {t["mode"]: t for t in read_csv(run_dir / "trials.csv")}
    phases = {
        (p["trial_id"], p["phase"]): float(p["duration_s"])
        for p in read_csv(run_dir / "phases.csv")
    }
    settings = {(s["trial_id"], s["key"]): s["value"] for s in read_csv(run_dir / "settings.csv")}
    return trials, phases, settings


@pytest.mark.skipif(not HAVE_KERAS, reason="keras/tensorflow not installed")
def test_keras_modes_show_their_signature(tmp_path):
    trials, phases, settings = _run(
        tmp_path,
        "--frameworks",
        "keras",
        config='[sweep]\nkeras_modes = ["graph", "eager", "xla"]\n',
    )
    assert set(trials) == {"graph", "eager", "xla"}
    for mode, t in trials.items():
        assert t["status"] == "ok", t
        tid = t["trial_id"]
        step = float(t["steady_epoch_s"]) / int(t["steps_per_epoch"])
        first = phases[(tid, "first_step")]
        if mode in ("graph", "xla"):
            assert first > 5 * step, (mode, first, step)  # tracing / XLA compile
        assert settings[(tid, "keras.run_eagerly")] == str(mode == "eager")
        assert settings[(tid, "keras.jit_compile")] == str(mode == "xla")
        assert settings[(tid, "tf.intra_op_threads")] == "1"


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_TORCH, reason="torch not installed")
def test_torch_compile_first_step_carries_the_compile_time(tmp_path):
    trials, phases, settings = _run(
        tmp_path, "--frameworks", "torch", config='[sweep]\ntorch_modes = ["eager", "compile"]\n'
    )
    eager, compiled = trials["eager"], trials["compile"]
    assert eager["compile_time_s"] == "" and compiled["status"] == "ok"
    compile_s = float(compiled["compile_time_s"])
    assert compile_s > 1.0
    assert int(compiled["graph_count"]) >= 1 and int(compiled["graph_breaks"]) == 0
    # torch's own compile account lies inside the measured first step
    first = phases[(compiled["trial_id"], "first_step")]
    assert compile_s <= first
    assert first > 10 * phases[(eager["trial_id"], "first_step")]
    assert settings[(compiled["trial_id"], "torch.compile")] == "True"
