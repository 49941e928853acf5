"""Real mixed-precision trials on this CPU (issue 14): torch and Keras, fp32 / bf16 / fp16, at
tiny size, through the CLI in child processes — every trial ok, settings.csv showing the
autocast dtype and Keras policy actually in effect, the loss finite and falling, and the report's
precision × framework table. Also a tiny bf16/fp16 matmul calibration in child processes.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest
from conftest import only_run_dir, read_csv, run_cli

from bench.hardware import calibrate as cal
from bench.hardware.devices import cpu_device

FRAMEWORKS = [
    fw
    for fw, mods in (("torch", ["torch"]), ("keras", ["keras", "tensorflow"]))
    if all(importlib.util.find_spec(m) for m in mods)
]
pytestmark = pytest.mark.skipif(not FRAMEWORKS, reason="neither torch nor keras installed")
PRECISIONS = ("fp32", "bf16", "fp16")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("results")
    proc = run_cli(
        "run",
        *("--frameworks", ",".join(FRAMEWORKS), "--models", "seed_cnn", "--devices", "cpu"),
        *("--precisions", ",".join(PRECISIONS), "--batch-sizes", "32", "--epochs", "3"),
        *("--samples", "256", "--threads", "1", "--repeats", "1", "--set", "sweep.warmup=0"),
        *("--out", str(out)),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return only_run_dir(out)


def settings_of(run_dir: Path) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for row in read_csv(run_dir / "settings.csv"):
        out.setdefault(row["trial_id"], {})[row["key"]] = row["value"]
    return out


def test_every_precision_of_every_framework_trains(run_dir: Path) -> None:
    trials = read_csv(run_dir / "trials.csv")
    assert sorted((t["framework"], t["precision"]) for t in trials) == sorted(
        (fw, p) for fw in FRAMEWORKS for p in PRECISIONS
    )
    epochs = read_csv(run_dir / "epochs.csv")
    for t in trials:
        assert t["status"] == "ok" and t["autotune"] == "default", t
        losses = [float(e["loss"]) for e in epochs if e["trial_id"] == t["trial_id"]]
        assert len(losses) == 3 and all(math.isfinite(v) for v in losses), t
        assert losses[-1] < losses[0], (t["trial_id"], losses)
    params = {(t["framework"], t["params_trainable"]) for t in trials}
    assert len(params) == len(FRAMEWORKS)  # a float32 output cast adds no weights


@pytest.mark.skipif("torch" not in FRAMEWORKS, reason="torch not installed")
def test_torch_records_the_autocast_it_ran(run_dir: Path) -> None:
    settings = settings_of(run_dir)
    for t in read_csv(run_dir / "trials.csv"):
        if t["framework"] != "torch":
            continue
        mine = settings[t["trial_id"]]
        dtype = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}[t["precision"]]
        assert mine["torch.logits_dtype"] == f"torch.{dtype}"  # what step 1's forward produced
        assert mine["torch.autocast.dtype"] == ("none" if dtype == "float32" else f"torch.{dtype}")
        assert mine["torch.amp.grad_scaler"].startswith(
            "GradScaler(cpu" if t["precision"] == "fp16" else "none"
        )
        assert mine["torch.backends.cudnn.allow_tf32"] == "False"  # strict everywhere but tf32


@pytest.mark.skipif("keras" not in FRAMEWORKS, reason="keras not installed")
def test_keras_records_the_policy_it_ran(run_dir: Path) -> None:
    settings = settings_of(run_dir)
    for t in read_csv(run_dir / "trials.csv"):
        if t["framework"] != "keras":
            continue
        mine = settings[t["trial_id"]]
        policy, compute = {
            "fp32": ("float32", "float32"),
            "bf16": ("mixed_bfloat16", "bfloat16"),
            "fp16": ("mixed_float16", "float16"),
        }[t["precision"]]
        assert (mine["keras.dtype_policy"], mine["keras.compute_dtype"]) == (policy, compute)
        assert mine["keras.variable_dtype"] == mine["keras.output_dtype"] == "float32"
        fp16 = t["precision"] == "fp16"
        assert mine["keras.optimizer"] == ("LossScaleOptimizer" if fp16 else "Adam")
        assert mine["tf.tensor_float_32"] == "False"


def test_the_report_has_the_precision_table(run_dir: Path) -> None:
    text = (run_dir / "report.md").read_text(encoding="utf-8")
    section = text.split("## Precision × framework", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| seed_cnn")]
    assert len(rows) == len(FRAMEWORKS) * len(PRECISIONS)
    assert [row.split(" | ")[1] for row in rows[: len(PRECISIONS)]] == list(PRECISIONS)
    assert rows[0].split(" | ")[4] == "1.00×"  # fp32's own steady ratio


def test_tiny_bf16_and_fp16_calibration_on_the_cpu(tmp_path: Path) -> None:
    installed = [f for f in cal.FRAMEWORKS if not cal._missing(f)]
    settings = cal.Settings(repeats=2, warmup=1, warmup_s=0.0, min_batch_s=0.005, threads=1)
    rows = cal.calibrate(
        installed, [cpu_device()], [64], tmp_path, settings, dtypes=["bf16", "fp16"]
    )
    assert sorted((r["framework"], r["dtype"]) for r in rows) == sorted(
        (f, d) for f in installed for d in ("bf16", "fp16")
    )
    for row in rows:
        assert row["status"] == "ok" and row["best_flops_per_s"] > 0, row
