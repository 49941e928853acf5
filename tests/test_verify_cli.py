"""`bench models --verify`: the CLI proof that a model is the same network in both frameworks."""

from __future__ import annotations

import csv
import importlib.util
import io

import pytest
from conftest import run_cli

BOTH = all(importlib.util.find_spec(m) for m in ("torch", "keras", "tensorflow"))


@pytest.mark.skipif(not BOTH, reason="needs torch and keras")
def test_verify_csv_reports_every_variant_matching():
    proc = run_cli("models", "--verify", "seed_cnn", "seed004_cnn", "--format", "csv")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert [(r["model"], r["options"]) for r in rows] == [
        ("seed_cnn", ""),
        ("seed004_cnn", ""),
        ("seed004_cnn", "head=gap"),
    ]
    for r in rows:
        assert r["ok"] == "ok" and r["problems"] == ""
        assert r["params_torch"] == r["params_keras"] == r["params_analytic"] == r["params_numpy"]
        assert r["output_shape_numpy"] == r["output_shape_torch"]
        assert float(r["rel_output_diff"]) <= 1e-4 and float(r["rel_output_diff_numpy"]) <= 1e-4
    assert rows[0]["params_analytic"] == "1,475,146/0"


def test_verify_unknown_model_is_a_usage_error():
    proc = run_cli("models", "--verify", "resnet9000")
    assert proc.returncode == 2
    assert "resnet9000" in proc.stderr and "seed_cnn" in proc.stderr
    assert "Traceback" not in proc.stderr
