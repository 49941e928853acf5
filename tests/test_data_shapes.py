"""Shapes follow the data: the plan reads the data set's headers and trains each model at the
data's own shape and classes (a fixed-design model keeps its size; real data is resized to it);
an impossible combination exits 2 at plan time, before any trial starts."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from conftest import only_run_dir, read_csv, run_cli
from test_datasets import write_cifar

from bench.core.config import load
from bench.core.plan import plan
from bench.hardware.devices import cpu_device


def planned(tmp_path: Path, dataset: str, models: list[str], sizes: list[int] | None = None):
    sweep = {"frameworks": ["fake"], "models": models, "devices": ["cpu"]}
    if sizes:
        sweep["input_sizes"] = sizes
    cfg = load(None, {"sweep": sweep, "data": {"dataset": dataset}}, ["test"])
    return {t.model: (t.input_shape, t.classes) for t in plan(cfg, [cpu_device()], 1)}


def write_idx(folder: Path, rows: int, cols: int, labels: list[int]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    n = len(labels)
    images = struct.pack(">IIII", 2051, n, rows, cols) + bytes(n * rows * cols)
    (folder / "train-images-idx3-ubyte").write_bytes(images)
    (folder / "train-labels-idx1-ubyte").write_bytes(struct.pack(">II", 2049, n) + bytes(labels))
    return folder


def test_small_models_take_the_datas_shape_and_classes(tmp_path: Path) -> None:
    cifar = write_cifar(tmp_path / "cifar", "bin", n=4)
    got = planned(tmp_path, f"cifar10:{cifar}", ["seed_cnn", "seed_ffnn"])
    assert got == {"seed_cnn": ((32, 32, 3), 10), "seed_ffnn": ((32, 32, 3), 10)}
    idx = write_idx(tmp_path / "letters", 20, 20, [0, 25, 3])
    assert planned(tmp_path, f"mnist:{idx}", ["seed_cnn"]) == {"seed_cnn": ((20, 20, 1), 26)}


def test_fixed_design_models_keep_their_size_and_take_the_datas_classes(tmp_path: Path) -> None:
    got = planned(tmp_path, "mnist5k", ["vgg16", "seed_cnn"])
    assert got == {"vgg16": ((224, 224, 3), 10), "seed_cnn": ((28, 28, 1), 10)}
    assert planned(tmp_path, "mnist5k", ["vgg16"], [32])["vgg16"] == ((32, 32, 3), 10)


def test_folders_give_their_class_count_and_take_the_models_size(tmp_path: Path) -> None:
    for name in ("ant", "bee", "cat"):
        (tmp_path / "pets" / name).mkdir(parents=True)
    got = planned(tmp_path, f"folder:{tmp_path / 'pets'}", ["seed004_cnn"])
    assert got == {"seed004_cnn": ((32, 32, 3), 3)}


def test_an_impossible_shape_exits_2_at_plan_time_before_any_trial(tmp_path: Path) -> None:
    args = ["--frameworks", "fake", "--models", "seed_cnn", "--set", "sweep.input_sizes=4"]
    for extra in (["--dry-run"], ["--out", str(tmp_path / "out")]):
        done = run_cli("run", *args, *extra, cwd=tmp_path)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert "model seed_cnn cannot train on dataset synthetic at 4×4×1" in done.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_seed_cnn_trains_on_cifar10_binary(tmp_path: Path, framework: str) -> None:
    pytest.importorskip("torch" if framework == "torch" else "tensorflow")
    cifar = write_cifar(tmp_path / "cifar", "bin", n=40, n_test=8)
    done = run_cli(
        "run", "--frameworks", framework, "--models", "seed_cnn", "--devices", "cpu",
        "--dataset", f"cifar10:{cifar}", "--batch-sizes", "8", "--samples", "32", "--epochs",
        "2", "--repeats", "1", "--threads", "1", "--no-report", "-q", "--out", str(tmp_path / "r"),
        "--set", "sweep.warmup=0",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    (trial,) = read_csv(only_run_dir(tmp_path / "r") / "trials.csv")
    assert (
        trial["status"] == "ok" and trial["input_shape"] == "32x32x3" and trial["classes"] == "10"
    )
