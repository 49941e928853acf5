"""Keras sync and placement (issue 30, defect 9), with fake framework modules at the runner's
seam: on TensorFlow the clock's sync is `tf.test.experimental.sync_devices()` — every device,
each MirroredStrategy replica's GPU, not a fetch that waits on GPU:0 alone — and `build` proves
that the model's weights, not only a probe tensor, live on the trial's device."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import Any

import pytest
from test_runners_gpu import (
    FakeTorchDevice,
    fake_jax,
    fake_tf,
    jax_array,
    keras_runner,
)

from bench.hardware.placement import PlacementError
from bench.runners import keras_backends

GPU = "/job:localhost/replica:0/task:0/device:GPU:0"
CPU = "/job:localhost/replica:0/task:0/device:CPU:0"


def tf_with_sync_devices(gpus: int = 1) -> SimpleNamespace:
    """A TensorFlow ≥ 2.12: `tf.test.experimental.sync_devices` is there, and counts its calls."""
    tf = fake_tf(gpus=gpus)
    tf.synced = []
    tf.test.experimental = SimpleNamespace(sync_devices=lambda: tf.synced.append("all devices"))
    return tf


def trained_model(weight: Any = None) -> SimpleNamespace:
    iterations = SimpleNamespace(name="optimizer.iterations")
    optimizer = SimpleNamespace(built=True, iterations=iterations)
    return SimpleNamespace(weights=[weight or "w"], optimizer=optimizer)


def test_tensorflow_sync_waits_for_every_device_not_a_fetch() -> None:
    tf = tf_with_sync_devices(gpus=2)
    runner = keras_runner("tensorflow", tf, SimpleNamespace(device=GPU))
    runner.init_device()
    runner.model = trained_model()
    fetched = list(runner.keras.fetched)  # init_device's probe tensor
    runner.sync()
    assert tf.synced == ["all devices"]
    assert runner.keras.fetched == fetched, "no optimizer.iterations fetch (GPU:0 alone)"


def test_tensorflow_sync_on_the_cpu_is_sync_devices_too() -> None:
    tf = tf_with_sync_devices(gpus=0)
    runner = keras_runner("tensorflow", tf, SimpleNamespace(device=CPU), kind="cpu")
    runner.init_device()
    runner.model = trained_model()
    runner.sync()
    assert tf.synced == ["all devices"]


def test_an_older_tensorflow_without_sync_devices_fetches_the_iterations() -> None:
    runner = keras_runner("tensorflow", fake_tf(gpus=1), SimpleNamespace(device=GPU))
    runner.init_device()
    runner.model = trained_model()
    runner.sync()
    assert runner.keras.fetched[-1] is runner.model.optimizer.iterations


def weight(value: Any) -> SimpleNamespace:
    """A Keras variable: its backend value is what holds the memory."""
    return SimpleNamespace(value=value)


@pytest.mark.parametrize(
    ("backend", "on_cpu", "on_gpu"),
    [
        ("tensorflow", SimpleNamespace(device=CPU), SimpleNamespace(device=GPU)),
        ("jax", jax_array("cpu"), jax_array("gpu")),
        ("torch", SimpleNamespace(device=FakeTorchDevice("cpu")),
         SimpleNamespace(device=FakeTorchDevice("cuda"))),
    ],
)  # fmt: skip
def test_weights_that_stayed_on_the_cpu_fail_a_gpu_trial(
    backend: str, on_cpu: Any, on_gpu: Any
) -> None:
    model = SimpleNamespace(weights=[weight(on_cpu), weight(on_gpu)])
    with pytest.raises(PlacementError) as info:
        keras_backends.check_weights(backend, model, "cuda", "cuda:0")
    assert str(info.value) == (
        f"asked for cuda:0, but the model's weights ({backend} backend) is on cpu"
    )
    keras_backends.check_weights(backend, SimpleNamespace(weights=[weight(on_gpu)]), "cuda", "x")
    keras_backends.check_weights(backend, SimpleNamespace(weights=[]), "cuda", "x")


def test_build_checks_the_built_models_weights(monkeypatch: Any) -> None:
    """The runner's own build: a model whose weights landed on the CPU fails the GPU trial."""
    from models import keras_build

    runner = keras_runner("jax", fake_jax("gpu"), jax_array("gpu"))
    runner.trial = dataclasses.replace(runner.trial, definition="spec")
    built = SimpleNamespace(weights=[weight(jax_array("cpu"))])
    monkeypatch.setattr(keras_build, "build", lambda spec, seed: built)
    monkeypatch.setattr("bench.runners.keras_precision.float32_output", lambda keras, m: m)
    with pytest.raises(PlacementError, match="the model's weights .jax backend. is on cpu"):
        runner.build()
