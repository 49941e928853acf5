"""Registry behaviour and analytic sizes, with no framework imported."""

from __future__ import annotations

import pytest

from models import flops, zoo
from models.spec import Conv, Dense, Flatten, MaxPool, ModelSpec, ReLU


def test_names_sorted_and_contains_seeds() -> None:
    names = zoo.names()
    assert names == sorted(names)
    assert {"seed_cnn", "seed_ffnn"} <= set(names)


def test_unknown_name_lists_valid_names() -> None:
    with pytest.raises(KeyError) as err:
        zoo.get("no_such_model")
    message = str(err.value)
    assert "no_such_model" in message
    for name in zoo.names():
        assert name in message
    with pytest.raises(KeyError):
        zoo.info("no_such_model")


def test_info_defaults() -> None:
    info = zoo.info("seed_cnn")
    assert (info.input_shape, info.classes) == ((28, 28, 1), 10)
    assert info.description and info.source
    spec = zoo.get("seed_cnn")
    assert (spec.input_shape, spec.classes) == (info.input_shape, info.classes)


def test_get_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="input_shape"):
        zoo.get("seed_cnn", (28, 28))
    with pytest.raises(ValueError, match="classes"):
        zoo.get("seed_cnn", classes=0)
    with pytest.raises(ValueError, match="unknown option"):
        zoo.get("seed_cnn", colour="blue")


def test_other_shape_and_classes_change_counts() -> None:
    # seed_cnn at 32x32x3, 100 classes: conv1 3*9*32+32, conv2 32*9*64+64, flatten 7*7*64.
    spec = zoo.get("seed_cnn", (32, 32, 3), 100)
    expected = (27 * 32 + 32) + (288 * 64 + 64) + (3136 * 600 + 600) + 72_120 + (120 * 100 + 100)
    assert flops.param_count(spec) == expected
    ffnn = zoo.get("seed_ffnn", (32, 32, 3), 2)
    assert flops.param_count(ffnn) == 44_458 - 784 * 32 + 3072 * 32 - (64 * 10 + 10) + (64 * 2 + 2)


def test_seed_cnn_forward_flops_by_hand() -> None:
    spec = zoo.get("seed_cnn")
    conv1 = 2 * 28 * 28 * 32 * 9 + 28 * 28 * 32
    pool1 = 14 * 14 * 32 * 4
    relu1 = 14 * 14 * 32
    conv2 = 2 * 12 * 12 * 64 * 9 * 32 + 12 * 12 * 64
    pool2 = 6 * 6 * 64 * 4
    relu2 = 6 * 6 * 64
    fc = (2 * 2304 * 600 + 600) + 600 + (2 * 600 * 120 + 120) + 120 + (2 * 120 * 10 + 10)
    expected = conv1 + pool1 + relu1 + conv2 + pool2 + relu2 + fc
    assert flops.forward_flops(spec) == expected
    assert flops.train_flops(spec) == 3 * expected


def test_layer_table_shapes() -> None:
    rows = flops.layer_table(zoo.get("seed_cnn"))
    assert [r.output_shape for r in rows[:7]] == [
        (28, 28, 32),
        (14, 14, 32),
        (14, 14, 32),
        (12, 12, 64),
        (6, 6, 64),
        (6, 6, 64),
        (2304,),
    ]
    assert rows[-1].output_shape == (10,)


def test_too_small_input_raises_clear_error() -> None:
    with pytest.raises(ValueError, match="too small"):
        flops.layer_table(zoo.get("seed_cnn", (4, 4, 1)))
    spec = ModelSpec("bad", (8, 8, 1), 2, (Dense(2),))
    with pytest.raises(ValueError, match="Flatten"):
        flops.layer_table(spec)
    spec = ModelSpec("ok", (8, 8, 1), 2, (Conv(4, 3), ReLU(), MaxPool(2), Flatten(), Dense(2)))
    assert flops.param_count(spec) == 40 + 4 * 4 * 4 * 2 + 2
