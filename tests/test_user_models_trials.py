"""Users' own models in real trials (CPU, tiny sizes), through the CLI as a user runs them: the
worked example of examples/ — a spec file's new CNN, a TOML layer list, a native torch factory
and a native Keras factory — verified and timed in one sweep."""

from __future__ import annotations

import csv
import importlib.util
import io
import textwrap

import pytest
from conftest import REPO, only_run_dir, read_csv, run_cli

from models import flops, user, zoo

BOTH = all(importlib.util.find_spec(m) for m in ("torch", "keras", "tensorflow"))
pytestmark = pytest.mark.skipif(not BOTH, reason="needs torch and keras")
EXAMPLE = REPO / "examples" / "bench.toml"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    proc = run_cli(
        "run", "--config", str(EXAMPLE), "--set", "sweep.warmup=0", "--samples", "64",
        "--set", "monitor.enabled=false", "--out", str(out), cwd=REPO,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return only_run_dir(out)


def analytic(name: str) -> int:
    user.install(user.normalize({"files": [str(REPO / "examples" / "my_models.py")]}))
    try:
        return flops.param_counts(zoo.get(name))[0]
    finally:
        zoo.clear_user()


def test_example_sweep_times_every_model_in_every_framework_it_can(run_dir):
    rows = {(r["model"], r["framework"]): r for r in read_csv(run_dir / "trials.csv")}
    assert set(rows) == {
        (m, f) for m in ("tiny_vgg", "small_mlp", "native_cnn") for f in ("torch", "keras", "numpy")
    }
    skipped = rows[("native_cnn", "numpy")]
    assert skipped["status"] == "skipped" and "native model" in skipped["error"]
    others = [r for key, r in rows.items() if key != ("native_cnn", "numpy")]
    assert all(r["status"] == "ok" for r in others), [(r["trial_id"], r["error"]) for r in others]
    assert {r["definition"] for k, r in rows.items() if k[0] == "native_cnn"} == {"native"}
    assert {r["definition"] for k, r in rows.items() if k[0] != "native_cnn"} == {"spec"}
    phases = read_csv(run_dir / "phases.csv")
    native_trial = rows[("native_cnn", "keras")]["trial_id"]
    assert {"import", "build", "compile", "first_step"} <= {
        p["phase"] for p in phases if p["trial_id"] == native_trial
    }


def test_spec_models_have_the_analytic_size_in_every_framework(run_dir):
    rows = {(r["model"], r["framework"]): r for r in read_csv(run_dir / "trials.csv")}
    expected = {"tiny_vgg": analytic("tiny_vgg"), "small_mlp": 28 * 28 * 64 + 64 + 64 * 10 + 10}
    for model, params in expected.items():
        for framework in ("torch", "keras", "numpy"):
            assert int(rows[(model, framework)]["params_trainable"]) == params


def test_native_models_record_their_own_size_flops_and_initial_weights(run_dir):
    rows = {(r["model"], r["framework"]): r for r in read_csv(run_dir / "trials.csv")}
    torch_row, keras_row = rows[("native_cnn", "torch")], rows[("native_cnn", "keras")]
    params = 3 * 3 * 1 * 16 + 16 + 16 * 14 * 14 * 10 + 10  # conv 16 3x3, flatten, dense 10
    assert int(torch_row["params_trainable"]) == int(keras_row["params_trainable"]) == params
    # FlopCounterMode: forward conv + dense, backward weight grads (no input grad for the
    # first layer) and the dense input grad.
    conv, dense = 2 * 28 * 28 * 16 * 9, 2 * 16 * 14 * 14 * 10
    assert int(torch_row["flops_per_sample"]) == 2 * conv + 3 * dense
    # counted from the Keras model's layers by the same backward rule: the same figure
    assert int(keras_row["flops_per_sample"]) == 2 * conv + 3 * dense
    settings = read_csv(run_dir / "settings.csv")
    values = {(s["trial_id"], s["key"]): s["value"] for s in settings}
    for row in (torch_row, keras_row):
        assert values[(row["trial_id"], "model.factory")].endswith(
            "native_models.py:" + f"{row['framework']}_cnn"
        )
        assert "not identical" in values[(row["trial_id"], "model.initial_weights")]


def test_report_says_the_native_pair_has_equal_parameter_counts(run_dir):
    report = (run_dir / "report.md").read_text(encoding="utf-8")
    assert "native model native_cnn: its torch and Keras definitions have the same parameter" in (
        report
    )


def test_verify_proves_the_example_models(tmp_path):
    proc = run_cli(
        "models", "--config", str(EXAMPLE), "--verify", "tiny_vgg", "small_mlp", "native_cnn",
        "--format", "csv", cwd=REPO,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert [(r["model"], r["options"]) for r in rows] == [
        ("tiny_vgg", ""), ("tiny_vgg", "width=8"), ("tiny_vgg", "width=32"),
        ("small_mlp", ""), ("native_cnn", ""),
    ]  # fmt: skip
    for r in rows[:4]:
        assert r["definition"] == "spec" and r["ok"] == "ok", r
        assert r["params_torch"] == r["params_keras"] == r["params_analytic"] == r["params_numpy"]
        assert float(r["rel_output_diff"]) <= 1e-4 and r["initial_identical"] == "yes"
    native = rows[-1]
    assert native["definition"] == "native" and native["ok"] == "ok"
    assert native["params_torch"] == native["params_keras"] == "31,530/0"
    assert native["params_analytic"] == "" and native["rel_output_diff"] == "n/a"
    assert native["output_shape_torch"] == native["output_shape_keras"] == "2x10"


def test_verify_fails_native_factories_that_are_not_the_same_network(tmp_path):
    (tmp_path / "nets.py").write_text(
        textwrap.dedent(
            """
            def torch_net(input_shape, classes):
                from torch import nn
                h, w, c = input_shape
                return nn.Sequential(nn.Flatten(), nn.Linear(h * w * c, classes))

            def keras_net(input_shape, classes):
                import keras
                return keras.Sequential([
                    keras.Input(shape=input_shape), keras.layers.Flatten(),
                    keras.layers.Dense(32), keras.layers.Dense(classes),
                ])
            """
        )
    )
    (tmp_path / "bench.toml").write_text(
        '[models.pair]\ntorch = "nets.py:torch_net"\nkeras = "nets.py:keras_net"\n'
    )
    proc = run_cli("models", "--verify", "pair", cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "MISMATCH" in proc.stdout and "not the same network" in proc.stdout


def test_a_native_factory_that_breaks_its_contract_is_named_in_the_error(tmp_path):
    from models import native

    factories = tmp_path / "factories.py"
    factories.write_text("def not_a_module(input_shape, classes):\n    return [input_shape]\n")
    with pytest.raises(TypeError, match=r"factories\.py:not_a_module returned list, not a torch"):
        native.build_torch(f"{factories}:not_a_module", (8, 8, 1), 3)
    with pytest.raises(TypeError, match=r"returned list, not a keras\.Model"):
        native.build_keras(f"{factories}:not_a_module", (8, 8, 1), 3)
    with pytest.raises(ImportError, match=r"has no 'absent'"):
        native.load_factory(f"{factories}:absent")
    import torch

    model = native.build_torch(f"{REPO / 'examples' / 'native_models.py'}:torch_cnn", (8, 8, 3), 5)
    assert model(torch.zeros(2, 3, 8, 8)).shape == (2, 5)  # NCHW in, (N, classes) logits out
