"""The report never presents a native torch model and a native Keras model as one network
unless their parameter counts agree, and says which it is."""

from __future__ import annotations

from analysis_synth import make_runs

from analysis.analyze import analyze
from analysis.native import reconcile

TORCH = {"framework": "torch", "backend": "torch", "mode": "eager"}
KERAS = {"framework": "keras", "backend": "tensorflow", "mode": "graph"}


def native_pair(torch_params: int, keras_params: int, model: str = "net") -> list[dict]:
    common = {"model": model, "definition": "native", "params_non_trainable": 0}
    return [
        common | TORCH | {"params_trainable": torch_params},
        common | KERAS | {"params_trainable": keras_params},
    ]


def test_native_pair_with_equal_counts_is_reported_as_one_model_with_a_note():
    a = analyze(make_runs(["r1"], native_pair(31_530, 31_530), repeats=2, seed=1))
    notes = [w for w in a.warnings if w.startswith("native model net")]
    assert len(notes) == 1
    assert "same parameter counts (31,530 trainable + 0 non-trainable)" in notes[0]
    assert "did not check that they compute the same function" in notes[0]
    assert set(a.configs["model"]) == {"net"}


def test_native_pair_with_different_counts_is_kept_apart():
    a = analyze(make_runs(["r1"], native_pair(100, 120), repeats=2, seed=1))
    notes = [w for w in a.warnings if w.startswith("native model net")]
    assert len(notes) == 1 and "not the same network" in notes[0]
    assert "100 trainable" in notes[0] and "120 trainable" in notes[0]
    assert set(a.configs["model"]) == {"net [torch native]", "net [keras native]"}
    labels = " | ".join(a.configs["label"])
    assert "net [torch native] · cpu · torch eager" in labels


def test_spec_models_and_a_lone_native_model_get_no_note():
    spec = [{"model": "m", "params_trainable": 5, "params_non_trainable": 0} | fw
            for fw in (TORCH, KERAS)]  # fmt: skip
    lone = native_pair(100, 120, model="solo")[:1]
    runs = make_runs(["r1"], spec + lone, repeats=1, seed=2)
    trials, notes = reconcile(runs.trials)
    assert notes == [] and trials.equals(runs.trials)
