"""Config + devices → ordered trials: the sweep's expansion, order, identity and per-trial sizes.

Devices are hand-made `bench.hardware.devices.Device` values, so GPU trials are planned on any
machine.
"""

from __future__ import annotations

import itertools
import json

import pytest

from bench.contract.trial import Trial
from bench.core.config import load
from bench.core.plan import plan
from bench.hardware.devices import Device

CPU = Device("cpu", "cpu", "Fake CPU", None, 16 * 2**30, "4 cores / 8 threads")
GPU0 = Device("cuda:0", "cuda", "Fake GPU A", 0, 24 * 2**30, "driver 1.0")
GPU1 = Device("cuda:1", "cuda", "Fake GPU B", 1, 48 * 2**30, "driver 1.0")


def config(**sweep: object):
    train = {"epochs": 3, "samples": 1000}
    return load(None, {"sweep": {"repeats": 1, **sweep}, "train": train}, ["test"])


FULL = config(
    frameworks=["torch", "keras", "fake"],
    models=["seed_cnn", "seed_ffnn"],
    batch_sizes=[32, 100],
    threads=[1, 4],
    repeats=2,
)


def test_count_is_the_product_of_the_sweep() -> None:
    trials = plan(FULL, [CPU], default_threads=8)
    assert len(trials) == 2 * 2 * 2 * 2 * 3  # repeats × models × batch × threads × frameworks


def test_order_repeats_outermost_frameworks_innermost() -> None:
    trials = plan(FULL, [CPU, GPU0], default_threads=8)
    expected = []
    for repeat, model, device in itertools.product(range(2), FULL.sweep.models, ["cpu", "cuda:0"]):
        threads = (1, 4) if device == "cpu" else (4,)
        for batch, th, fw in itertools.product((32, 100), threads, ("torch", "keras", "fake")):
            expected.append((repeat, model, device, batch, th, fw))
    actual = [(t.repeat, t.model, t.device, t.batch_size, t.threads, t.framework) for t in trials]
    assert actual == expected
    assert [t.order for t in trials] == list(range(len(trials)))


def test_every_configuration_runs_once_before_any_runs_again() -> None:
    trials = plan(FULL, [CPU], default_threads=8)
    half = len(trials) // 2
    assert {t.repeat for t in trials[:half]} == {0}
    key = [(t.model, t.batch_size, t.threads, t.framework) for t in trials]
    assert key[:half] == key[half:]


def test_frameworks_of_one_configuration_run_back_to_back() -> None:
    trials = plan(FULL, [CPU], default_threads=8)
    for group in zip(*[iter(trials)] * 3, strict=True):
        assert [t.framework for t in group] == ["torch", "keras", "fake"]
        assert len({(t.model, t.batch_size, t.threads, t.repeat) for t in group}) == 1


def test_trial_ids_are_unique_and_readable() -> None:
    trials = plan(FULL, [CPU, GPU0, GPU1], default_threads=8)
    ids = [t.trial_id for t in trials]
    assert len(set(ids)) == len(ids)
    first = trials[0]
    assert first.trial_id == "000-torch-eager-seed_cnn-cpu-b32-t1-r0"
    for t in trials:
        assert t.trial_id.startswith(f"{t.order:03d}-{t.framework}-{t.mode}-{t.model}-")
        assert ":" not in t.trial_id and "/" not in t.trial_id
    # unique even without the order prefix: the rest of the id is the trial's identity
    assert len({i.split("-", 1)[1] for i in ids}) == len(ids)


def test_threads_swept_for_cpu_only() -> None:
    trials = plan(FULL, [CPU, GPU0, GPU1], default_threads=8)
    by_device: dict[str, set[int]] = {}
    for t in trials:
        by_device.setdefault(t.device, set()).add(t.threads)
    assert by_device == {"cpu": {1, 4}, "cuda:0": {4}, "cuda:1": {4}}


def test_default_threads_when_none_configured() -> None:
    sweep = {"frameworks": ["fake"], "models": ["seed_ffnn"], "repeats": 1}
    cfg = load(None, {"sweep": sweep}, ["test"])
    trials = plan(cfg, [CPU, GPU0], default_threads=6)
    assert [(t.device, t.threads) for t in trials] == [("cpu", 6), ("cuda:0", 6)]


def test_device_fields_carried() -> None:
    trials = plan(config(frameworks=["fake"], models=["seed_ffnn"]), [CPU, GPU1], 2)
    cpu, gpu = trials
    assert (cpu.device, cpu.device_kind, cpu.device_index, cpu.device_name) == (
        "cpu",
        "cpu",
        None,
        "Fake CPU",
    )
    assert (gpu.device, gpu.device_kind, gpu.device_index, gpu.device_name) == (
        "cuda:1",
        "cuda",
        1,
        "Fake GPU B",
    )


@pytest.mark.parametrize("batch, steps", [(32, 31), (100, 10), (1000, 1), (7, 142)])
def test_steps_per_epoch_drops_the_ragged_batch(batch: int, steps: int) -> None:
    (trial,) = plan(
        config(frameworks=["fake"], models=["seed_ffnn"], batch_sizes=[batch]), [CPU], 1
    )
    assert trial.steps_per_epoch == 1000 // batch == steps
    assert trial.samples_per_epoch == steps * batch <= 1000


def test_trial_carries_train_data_and_model_settings() -> None:
    cfg = load(
        None,
        {
            "sweep": {
                "frameworks": ["torch", "keras", "fake"],
                "models": ["seed_cnn"],
                "repeats": 1,
            },
            "train": {"epochs": 5, "samples": 640, "optimizer": "adam", "learning_rate": 0.5},
            "data": {"seed": 3},
            "fake": {"fail": "hang", "epoch_s": [1.0]},
        },
        ["test"],
    )
    trials = plan(cfg, [CPU], 2)
    assert [(t.backend, t.mode) for t in trials] == [
        ("torch", "eager"),
        ("tensorflow", "graph"),
        ("fake", "scripted"),
    ]
    for t in trials:
        assert (t.epochs, t.optimizer, t.learning_rate, t.seed) == (5, "adam", 0.5, 3)
        assert t.timeout_s == cfg.train.timeout_s
        assert t.input_shape == (28, 28, 1) and t.classes == 10
        assert t.dataset == "synthetic" and t.precision == "fp32"
        assert t.fake["fail"] == "hang" and list(t.fake["epoch_s"]) == [1.0]


def test_plan_is_deterministic() -> None:
    first = plan(FULL, [CPU, GPU0], default_threads=8)
    second = plan(FULL, [CPU, GPU0], default_threads=8)
    assert first == second
    assert [t.to_json() for t in first] == [t.to_json() for t in second]


def test_plan_does_not_depend_on_device_objects_identity() -> None:
    clone = Device(*[getattr(CPU, f) for f in CPU.__slots__])
    assert plan(FULL, [clone], 8) == plan(FULL, [CPU], 8)


def test_no_devices_no_trials() -> None:
    assert plan(FULL, [], 8) == []


def test_trial_json_round_trip() -> None:
    for trial in plan(FULL, [CPU, GPU0], default_threads=8):
        again = Trial.from_json(json.loads(json.dumps(trial.to_json())))
        assert json.dumps(again.to_json()) == json.dumps(trial.to_json())
        assert again.input_shape == trial.input_shape
        assert again.trial_id == trial.trial_id
