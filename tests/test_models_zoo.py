"""Registry behaviour, options and analytic shapes / parameters / FLOPs; no framework imported."""

from __future__ import annotations

import pytest

from models import flops, verify, zoo
from models.spec import (
    AvgPool,
    BatchNorm,
    Conv,
    Dense,
    Dropout,
    Flatten,
    GlobalAvgPool,
    MaxPool,
    ModelSpec,
    ReLU,
    Residual,
    SeparableConv,
)


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


def test_imagenet_models_exact_counts() -> None:
    assert flops.param_counts(zoo.get("vgg16")) == (138_357_544, 0)
    assert flops.param_counts(zoo.get("xception")) == (22_855_952, 54_528)
    # frozen backbone: only the head trains
    assert flops.param_counts(zoo.get("xception", frozen=True)) == (2_049_000, 20_861_480)
    assert flops.param_counts(zoo.get("vgg16", frozen=True))[0] == 123_642_856
    # CIFAR-sized VGG: 512-wide classifier on the 1x1x512 feature map
    cifar = zoo.get("vgg16", (32, 32, 3), 10)
    assert flops.param_count(cifar) == 14_714_688 + (512 * 512 + 512) * 2 + 512 * 10 + 10


def test_imagenet_forward_flops_order_of_magnitude() -> None:
    # Published: VGG16 ~15.5 GMACs at 224, Xception ~8.4 GMACs at 299.
    assert flops.matmul_flops(zoo.get("vgg16")) / 2 == pytest.approx(15.47e9, rel=0.01)
    assert flops.matmul_flops(zoo.get("xception")) / 2 == pytest.approx(8.36e9, rel=0.01)


def test_options_validated_per_model() -> None:
    assert set(zoo.info("seed004_cnn").options) == {"head"}
    assert set(zoo.info("xception").options) == {"frozen"}
    with pytest.raises(ValueError, match="head"):
        zoo.get("seed004_cnn", head="avg")
    with pytest.raises(ValueError, match="unknown option"):
        zoo.get("seed004_mlp", head="gap")
    flat, gap = zoo.get("seed004_cnn", head="flatten"), zoo.get("seed004_cnn", head="gap")
    # identical except the head: flatten feeds 4*4*128 features to fc128, GAP feeds 128
    assert flops.param_count(flat) - flops.param_count(gap) == (4 * 4 * 128 - 128) * 128
    at64 = zoo.get("seed004_cnn", (64, 64, 3), head="gap")
    assert flops.param_count(at64) == flops.param_count(gap)


def test_reduced_input_shapes_fit() -> None:
    for name in zoo.names():
        shape = verify.reduced_input_shape(name)
        assert max(shape[:2]) <= 128
        flops.layer_table(zoo.get(name, shape))
    with pytest.raises(ValueError, match="too small"):
        flops.layer_table(zoo.get("xception", (6, 6, 3)))


def test_train_flops_respects_frozen_backbone() -> None:
    full, frozen = zoo.get("xception"), zoo.get("xception", frozen=True)
    head = flops.layer_table(full)[-1].flops
    assert flops.train_flops(full) == 3 * flops.forward_flops(full)
    assert flops.train_flops(frozen) == flops.forward_flops(full) + 2 * head


def test_vocabulary_by_hand() -> None:
    spec = ModelSpec(
        "v",
        (8, 8, 4),
        3,
        (
            SeparableConv(6, 3, 2, depth_multiplier=2),  # -> 4x4x6
            BatchNorm(),
            AvgPool(2),  # -> 2x2x6
            Residual((Conv(6, 3, bias=False), ReLU())),
            GlobalAvgPool(),  # -> 6
            Dropout(0.5),
            Dense(3),
        ),
    )
    rows = flops.layer_table(spec)
    assert [r.output_shape for r in rows] == [(4, 4, 6), (4, 4, 6), (2, 2, 6), (2, 2, 6)] + [
        (6,),
        (6,),
        (3,),
    ]
    sep = 9 * 4 * 2 + 8 * 6 + 6
    assert [r.params for r in rows] == [sep, 24, 0, 9 * 6 * 6, 0, 0, 21]
    assert flops.param_counts(spec) == (sep + 12 + 324 + 21, 12)
    sep_flops = 2 * 16 * 8 * 9 + 2 * 16 * 6 * 8 + 16 * 6
    res_flops = 2 * 24 * 9 * 6 + 24 + 24  # conv, relu, add
    expected = [sep_flops, 2 * 96, 24 * 4, res_flops, 24, 0, 2 * 6 * 3 + 3]
    assert [r.flops for r in rows] == expected
    assert flops.matmul_flops(spec) == 2 * 16 * 8 * 9 + 2 * 16 * 6 * 8 + 2 * 24 * 9 * 6 + 36


def test_same_padding_matches_keras_rule() -> None:
    assert flops.same_padding(7, 3, 2) == (1, 1)
    assert flops.same_padding(4, 3, 2) == (0, 1)  # the extra pixel goes after
    assert flops.same_padding(5, 1, 2) == (0, 0)


def test_bad_specs_raise() -> None:
    with pytest.raises(ValueError, match="shortcut"):
        flops.layer_table(ModelSpec("r", (8, 8, 4), 2, (Residual((Conv(5, 3),)),)))
    with pytest.raises(ValueError, match="frozen_layers"):
        flops.layer_table(ModelSpec("f", (4,), 2, (Dense(2),), frozen_layers=2))
    with pytest.raises(ValueError, match="Residual inside"):
        flops.layer_table(ModelSpec("n", (4, 4, 1), 2, (Residual((Residual((ReLU(),)),)),)))
