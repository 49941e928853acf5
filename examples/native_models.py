"""Native models: your own `torch.nn.Module` and `keras.Model`, built by factories bench calls.

Declared in bench.toml (see examples/bench.toml):

    [models.native_cnn]
    torch = "examples/native_models.py:torch_cnn"
    keras = "examples/native_models.py:keras_cnn"

bench imports this file only inside a trial's process (torch trials import `torch_cnn`'s module,
Keras trials `keras_cnn`'s), and calls `factory(input_shape, classes)`: `input_shape` is
(H, W, C) in both frameworks. The torch model receives NCHW batches (N, C, H, W), the Keras
model NHWC batches (N, H, W, C); both return logits (N, classes), no softmax.

These two are written to be the same network (conv 16 3×3 same → ReLU → max-pool 2 → flatten →
dense), so their parameter counts agree and the report says so; their initial weights are each
framework's own, not bench's identical draw.
"""

from __future__ import annotations

from typing import Any

FILTERS = 16


def torch_cnn(input_shape: tuple[int, int, int], classes: int) -> Any:
    from torch import nn

    height, width, channels = input_shape
    return nn.Sequential(
        nn.Conv2d(channels, FILTERS, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(FILTERS * (height // 2) * (width // 2), classes),
    )


def keras_cnn(input_shape: tuple[int, int, int], classes: int) -> Any:
    import keras

    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            keras.layers.Conv2D(FILTERS, 3, padding="same"),
            keras.layers.ReLU(),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(classes),
        ]
    )
