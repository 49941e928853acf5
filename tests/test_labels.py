"""Labels from the settings' declarations (issue 31): one function, `bench.core.labels.part`, writes
a setting's value in trial ids, the dry run, the run summary and the report, and the texts read
as before (autotune now `autotune=on` everywhere, data-parallel `dp2`, the pipeline named)."""

from __future__ import annotations

import pandas as pd

from bench.core import labels

PLAIN = {"batch_size": 64, "threads": 2, "precision": "fp32", "autotune": "default"}
PLAIN |= {"cache": "cold", "pipeline": "memory", "parallel": "single", "world_size": 1}
SWEPT = {"batch_size": 32, "threads": 1, "precision": "bf16", "autotune": "on", "cache": "warm"}
SWEPT |= {"pipeline": "loader", "parallel": "data", "world_size": 2, "repeat": 3}
ID_ORDER = ("pipeline", "batch_size", "threads", "precision", "autotune", "cache", "parallel")


def test_brief_labels_read_as_the_trial_ids_always_did() -> None:
    assert labels.parts(ID_ORDER, PLAIN | {"repeat": 0}) == ["b64", "t2"]
    assert labels.parts((*ID_ORDER, "repeat"), SWEPT) == [
        "loader", "b32", "t1", "bf16", "autotune=on", "warm", "dp2", "r3",
    ]  # fmt: skip
    assert labels.part("input_size", {"input_size": 64}) == "64px"
    assert labels.part("input_size", {"input_size": None}) == ""


def test_trial_ids_and_the_run_summary_use_the_declared_labels() -> None:
    from bench.core.plan import _identity, _trial_id
    from bench.core.summary import label

    trial = SWEPT | {"framework": "keras", "backend": "jax", "mode": "xla", "model": "vgg16"}
    trial |= {"model_options": {"frozen": True}, "input_shape": (32, 32, 3), "device": "cuda:0"}
    assert _trial_id(7, _identity(trial, 32)) == (
        "007-keras.jax-xla-vgg16.frozen-True-32px-loader-cuda0-b32-t1-bf16-autotune-on-warm-dp2-r3"
    )
    key = trial | {"input_shape": "32x32x3", "model_options": ""}
    assert label(key) == (
        "keras.jax/xla warm vgg16 32x32x3 on cuda:0, b32, t1, bf16, autotune=on, dp2, loader"
    )
    assert label(key | PLAIN) == "keras.jax/xla vgg16 32x32x3 on cuda:0, b64, t2"


def test_report_labels_show_every_value_of_a_varying_setting() -> None:
    from analysis.summary import SETTINGS, setting_labels

    rows = pd.DataFrame([PLAIN, SWEPT]).reindex(columns=SETTINGS, fill_value="x")
    assert list(setting_labels(rows)) == [
        "cold · memory · t2 · fp32 · autotune=default · b64 · single",
        "warm · loader · t1 · bf16 · autotune=on · b32 · dp2",
    ]
    assert list(setting_labels(rows, exclude=("cache", "parallel", "pipeline", "threads"))) == [
        "fp32 · autotune=default · b64",
        "bf16 · autotune=on · b32",
    ]


def test_every_labelled_setting_shows_in_ids_the_dry_run_and_the_summary() -> None:
    from bench.cli.run import dry_run_text
    from bench.core.config import load
    from bench.core.summary import label
    from bench.core.sweep import planned_trials

    sweep = {"frameworks": ["fake"], "models": ["seed_cnn"], "devices": ["cpu"], "threads": [1]}
    sweep |= {"precisions": ["bf16"], "caches": ["warm"], "parallel": ["data"], "repeats": 1}
    sweep |= {"input_sizes": [32]}
    cfg = load(None, {"sweep": sweep, "data": {"pipeline": ["loader"]}}, ["test"])
    [trial] = planned_trials(cfg)
    assert trial.trial_id == "000-fake-scripted-seed_cnn-32px-loader-cpu-b64-t1-bf16-warm-dp2-r0"
    line = dry_run_text([trial]).splitlines()[1]
    assert line.endswith(
        "b64, t1, 6 epochs × 50 steps, bf16, warm, dp2 (batch per replica), loader"
    )
    key = labels.row_of(trial) | {"input_shape": "32x32x1", "model_options": ""}
    assert label(key).endswith(" on cpu, b64, t1, bf16, dp2, loader")
    assert labels.labelled() == (
        "batch_size",
        "input_size",
        "threads",
        "precision",
        "autotune",
        "cache",
        "parallel",
        "repeat",
        "pipeline",
    )  # fmt: skip: the order of their declarations
