"""A native Keras model's FLOPs (`models.keras_flops`): counted from its built layers, they
equal the analytic conv/dense count of every zoo model built in Keras, follow the backward pass
as torch's FlopCounterMode does (no input gradient before the first trainable weight, no weight
gradient for a frozen layer), and work for a subclassed model with no symbolic shapes."""

from __future__ import annotations

import pytest

from models import flops, zoo

keras = pytest.importorskip("keras")

from models import keras_build, keras_flops  # noqa: E402


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("seed_cnn", {}),
        ("seed_ffnn", {}),
        ("deep_cnn", {}),
        ("xception", {"input_shape": (71, 71, 3)}),  # separable and depthwise convolutions
        ("vgg16", {"input_shape": (32, 32, 3), "frozen": True}),
    ],
)
def test_forward_count_equals_the_analytic_conv_and_dense_flops(name: str, options: dict) -> None:
    spec = zoo.get(name, **options)
    model = keras_build.build(spec, seed=0)
    forward, training = keras_flops.count(keras, model, spec.input_shape)
    assert forward == flops.matmul_flops(spec)
    assert forward < training <= 3 * forward


def test_training_skips_the_first_layers_input_gradient() -> None:
    spec = zoo.get("seed_cnn")
    model = keras_build.build(spec, seed=0)
    forward, training = keras_flops.count(keras, model, spec.input_shape)
    first = flops.layer_table(spec)[0]
    assert first.kind == "Conv"
    assert training == 3 * forward - first.matmul_flops


class Subclassed(keras.Model):
    """Layers held in attributes and a list, called from Python: no symbolic shapes."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = keras.layers.Conv2D(8, 3, padding="same")
        self.block = [
            keras.layers.SeparableConv2D(16, 3, strides=2),
            keras.layers.DepthwiseConv2D(3),
        ]
        self.up = keras.layers.Conv2DTranspose(4, 2, strides=2)
        self.head = keras.layers.Dense(10)

    def call(self, x):
        x = self.conv(x)
        for layer in self.block:
            x = layer(x)
        x = self.up(x)
        return self.head(keras.ops.mean(x, axis=(1, 2)))


def test_a_subclassed_model_by_hand_with_a_frozen_first_layer() -> None:
    model = Subclassed()
    model(keras.ops.zeros((1, 28, 28, 1)))
    model.conv.trainable = False
    conv = 2 * 28 * 28 * (3 * 3 * 1 * 8)  # 28×28 out, same padding
    separable = 2 * 13 * 13 * (3 * 3 * 8 + 8 * 16)  # 13×13 out: depthwise + pointwise kernels
    depthwise = 2 * 11 * 11 * (3 * 3 * 16)
    transposed = 2 * 11 * 11 * (2 * 2 * 4 * 16)  # per input position
    dense = 2 * 4 * 10
    forward, training = keras_flops.count(keras, model, (28, 28, 1))
    assert forward == conv + separable + depthwise + transposed + dense
    # frozen conv: forward only; the separable layer's input comes from frozen weights: no
    # input gradient; every later layer: forward + weight + input gradients
    assert training == conv + 2 * separable + 3 * (depthwise + transposed + dense)
    assert "call" not in vars(model.conv)  # the recording wrappers are gone


def test_a_model_that_cannot_run_gives_no_count() -> None:
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3)])
    assert keras_flops.count(keras, model, (9, 9, 5)) is None  # wrong channels


def test_verify_counts_a_keras_only_native_model() -> None:
    """`models --verify` of a native model with only a Keras factory reports its forward FLOPs
    (the example's keras_cnn: conv 16 3×3 same on 28×28×1, pool, dense 10)."""
    from pathlib import Path

    from models import native, native_check

    example = Path(__file__).resolve().parents[1] / "examples" / "native_models.py"
    ref = native.NativeRef(keras=native.parse_ref(f"{example}:keras_cnn"))
    check = native_check.check("native_cnn", ref, (28, 28, 1), 10)
    assert check["problems"] == [] and check["output_shapes"] == {"keras": (2, 10)}
    assert check["counted_flops"] == 2 * 28 * 28 * 16 * 9 + 2 * 16 * 14 * 14 * 10
