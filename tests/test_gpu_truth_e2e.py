"""GPU truth end to end, on a machine without a GPU: real trials and calibrations that ask for
`cuda:0` end `failed` with the framework's reason — never `ok` on the CPU, never a crash — and a
real Keras-on-JAX trial times its first step (the sync waits on the trainer's state).

Everything runs in child processes, as a user's run does; nothing here asserts on a timing.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from conftest import only_run_dir, read_csv, run_cli

from bench.core.config import load
from bench.core.plan import plan
from bench.hardware import calibrate as cal
from bench.hardware.devices import Device
from bench.hardware.nvml import Nvml
from bench.launchers.local import run_trial


def _has_gpu() -> bool:
    nvml = Nvml.load()
    if nvml is None:
        return False
    try:
        return bool(nvml.gpus())
    finally:
        nvml.shutdown()


def _installed(*modules: str) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in modules)


pytestmark = pytest.mark.skipif(_has_gpu(), reason="a GPU is here: cuda:0 trials would run")
FAKE_GPU = Device("cuda:0", "cuda", "Fake GPU", 0, 0, "")
#: What a framework without a usable GPU says: a CPU-only build, no GPU visible, no driver.
REASONS = r"(CPU-only build|sees no GPU|sees only cpu devices|cannot use the GPU driver)"


def _variant(framework: str, backend: str, *modules: str, slow: bool = False) -> object:
    marks = [pytest.mark.skipif(not _installed(*modules), reason=f"needs {', '.join(modules)}")]
    return pytest.param(framework, backend, marks=[*marks, *([pytest.mark.slow] if slow else [])])


#: Keras on torch and on JAX are also pinned with fake modules (test_runners_gpu.py); their real
#: trials cost ~10 s each, so they run with the slow tests.
VARIANTS = [
    _variant("torch", "torch", "torch"),
    _variant("keras", "tensorflow", "keras", "tensorflow"),
    _variant("keras", "torch", "keras", "torch", slow=True),
    _variant("keras", "jax", "keras", "jax", slow=True),
]


@pytest.mark.parametrize(("framework", "backend"), VARIANTS)
def test_a_cuda_trial_without_a_gpu_fails_saying_why(
    tmp_path: Path, framework: str, backend: str
) -> None:
    sweep = {"frameworks": [framework], "models": ["seed_ffnn"]}
    if framework == "keras":
        sweep |= {"keras_backends": [backend], "keras_modes": ["eager"]}
    cfg = load(None, {"sweep": sweep, "train": {"epochs": 2, "samples": 64}}, ["test"])
    trial = plan(cfg, [FAKE_GPU], 1)[0]
    outcome = run_trial(trial, tmp_path / "work", tmp_path / "trial.log")
    assert outcome.status == "failed", (outcome, (tmp_path / "trial.log").read_text()[-2000:])
    assert outcome.error.startswith("PlacementError: asked for cuda:0, but "), outcome.error
    assert re.search(REASONS, outcome.error), outcome.error
    kinds = {e["event"] for e in outcome.events}
    assert "epoch" not in kinds and "done" not in kinds
    phases = [e["phase"] for e in outcome.events if e["event"] == "phase"]
    assert phases[-1] == "import"  # it failed in device_init, before any data or model


@pytest.mark.skipif(not _installed("torch", "keras", "tensorflow"), reason="needs torch and keras")
def test_a_cuda_calibration_without_a_gpu_writes_only_failed_rows(tmp_path: Path) -> None:
    settings = cal.Settings(repeats=1, warmup=0, warmup_s=0.0, min_batch_s=0.0, threads=1)
    rows = cal.calibrate(["torch", "keras"], [FAKE_GPU], [64], tmp_path, settings, dtypes=["fp32"])
    assert [(r["framework"], r["status"]) for r in rows] == [
        ("torch", "failed"),
        ("keras", "failed"),
    ]
    for row in rows:
        assert row["error"].startswith("PlacementError: asked for cuda:0, but "), row
        assert "best_flops_per_s" not in row


@pytest.mark.skipif(not _installed("keras", "jax"), reason="needs keras and jax")
def test_a_keras_on_jax_cpu_trial_times_its_first_step(tmp_path: Path) -> None:
    """The first-step sync blocks on the JAX trainer's state (the model's variables hold no
    value during `fit`: reading `optimizer.iterations` there failed the trial); the trial
    records JAX's matmul precision."""
    cfg = tmp_path / "jax.toml"
    cfg.write_text('[sweep]\nframeworks = ["keras"]\nkeras_backends = ["jax"]\n')
    cfg.write_text(cfg.read_text() + 'keras_modes = ["eager"]\n')
    flags = ["--models", "seed_ffnn", "--devices", "cpu", "--batch-sizes", "32", "--epochs", "2"]
    flags += ["--samples", "96", "--threads", "1", "--repeats", "1", "--no-report"]
    flags += ["--set", "sweep.warmup=0"]
    proc = run_cli("run", "--config", str(cfg), *flags, "--out", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run_dir = only_run_dir(tmp_path / "out")
    (trial,) = read_csv(run_dir / "trials.csv")
    assert (trial["backend"], trial["status"]) == ("jax", "ok"), trial
    phases = [p["phase"] for p in read_csv(run_dir / "phases.csv")]
    assert phases[-2:] == ["first_step", "first_epoch_rest"]
    assert float(trial["first_step_s"]) > 0
    settings = {s["key"]: s["value"] for s in read_csv(run_dir / "settings.csv")}
    # precision fp32 (the default) is strict: full-FP32 matmuls set explicitly, not JAX's default
    assert settings["jax.default_matmul_precision"] == "float32"
    assert settings["jax.platform"] == "cpu"
