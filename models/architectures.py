"""The seed architectures (small CNNs and MLPs), registered with ``models.zoo``.

Each factory takes ``(input_shape, classes, **options)`` and returns a ``ModelSpec``; the
registration records the defaults and where the network comes from.
"""

from __future__ import annotations

from models.spec import Conv, Dense, Dropout, Flatten, GlobalAvgPool, MaxPool, ModelSpec, ReLU
from models.zoo import Option, register


@register(
    "seed_cnn",
    input_shape=(28, 28, 1),
    classes=10,
    description="conv32(3x3,same)-pool2-relu-conv64(3x3,valid)-pool2-relu-fc600-fc120-fc",
    source="seed PyTorch MNIST CNN (1,475,146 params at 28x28x1, 10 classes)",
)
def seed_cnn(input_shape: tuple[int, ...], classes: int) -> ModelSpec:
    layers = (
        Conv(32, 3, padding="same"),
        MaxPool(2),
        ReLU(),
        Conv(64, 3, padding="valid"),
        MaxPool(2),
        ReLU(),
        Flatten(),
        Dense(600),
        ReLU(),
        Dense(120),
        ReLU(),
        Dense(classes),
    )
    return ModelSpec("seed_cnn", input_shape, classes, layers, "seed PyTorch CNN")


@register(
    "seed_ffnn",
    input_shape=(28, 28, 1),
    classes=10,
    description="flatten-fc32-fc64-fc128-fc64-fc (ReLU between)",
    source="seed PyTorch MNIST feed-forward net (44,458 params at 28x28x1, 10 classes)",
)
def seed_ffnn(input_shape: tuple[int, ...], classes: int) -> ModelSpec:
    layers: list = [Flatten()]
    for units in (32, 64, 128, 64):
        layers += [Dense(units), ReLU()]
    layers.append(Dense(classes))
    return ModelSpec("seed_ffnn", input_shape, classes, tuple(layers), "seed PyTorch MLP")


@register(
    "seed001_cnn",
    input_shape=(28, 28, 1),
    classes=10,
    description="conv2(3x3,same)-relu-pool2-conv4(3x3,same)-relu-pool2-fc32-relu-fc",
    source="seed 001: the from-scratch NumPy CNN assignment",
)
def seed001_cnn(input_shape: tuple[int, ...], classes: int) -> ModelSpec:
    layers = (
        Conv(2, 3),
        ReLU(),
        MaxPool(2),
        Conv(4, 3),
        ReLU(),
        MaxPool(2),
        Flatten(),
        Dense(32),
        ReLU(),
        Dense(classes),
    )
    return ModelSpec("seed001_cnn", input_shape, classes, layers, "NumPy assignment CNN")


@register(
    "shallow_cnn",
    input_shape=(28, 28, 1),
    classes=10,
    description="exercise 1: conv32(3x3,valid)-relu-pool2-fc128-relu-fc (receptive field 4x4)",
    source="seed Keras exercises: the shallow network of exercise 1 (definition ours)",
)
def shallow_cnn(input_shape: tuple[int, ...], classes: int) -> ModelSpec:
    layers = (
        Conv(32, 3, padding="valid"),
        ReLU(),
        MaxPool(2),
        Flatten(),
        Dense(128),
        ReLU(),
        Dense(classes),
    )
    return ModelSpec("shallow_cnn", input_shape, classes, layers, "Keras exercise 1")


@register(
    "deep_cnn",
    input_shape=(28, 28, 1),
    classes=10,
    description=(
        "exercise 2: [conv32-relu]x2-pool2-[conv64-relu]x2-pool2 (3x3 same) -dropout0.5-"
        "fc128-relu-fc (receptive field 16x16)"
    ),
    source="seed Keras exercises: the deeper network of exercise 2 (definition ours)",
)
def deep_cnn(input_shape: tuple[int, ...], classes: int) -> ModelSpec:
    layers: list = []
    for filters in (32, 64):
        layers += [Conv(filters, 3), ReLU(), Conv(filters, 3), ReLU(), MaxPool(2)]
    layers += [Flatten(), Dropout(0.5), Dense(128), ReLU(), Dense(classes)]
    return ModelSpec("deep_cnn", input_shape, classes, tuple(layers), "Keras exercise 2")


@register(
    "seed004_mlp",
    input_shape=(32, 32, 3),
    classes=2,
    description="flatten-fc256-relu-fc128-relu-fc (no head option: no feature maps to pool)",
    source="seed 004: Keras cats-vs-dogs MLP baseline at 32 or 64 px (definition ours)",
)
def seed004_mlp(input_shape: tuple[int, ...], classes: int) -> ModelSpec:
    layers = (Flatten(), Dense(256), ReLU(), Dense(128), ReLU(), Dense(classes))
    return ModelSpec("seed004_mlp", input_shape, classes, layers, "cats-vs-dogs MLP")


@register(
    "seed004_cnn",
    input_shape=(32, 32, 3),
    classes=2,
    description=(
        "[conv(3x3,same)-relu-pool2] x (32, 64, 128) - head - fc128-relu-fc; "
        "head=flatten (Flatten) or gap (GlobalAveragePooling), all else identical"
    ),
    source="seed 004: Keras cats-vs-dogs CNN at 32 or 64 px, flatten vs GAP head",
    options={"head": Option("flatten", ("flatten", "gap"))},
)
def seed004_cnn(input_shape: tuple[int, ...], classes: int, head: str) -> ModelSpec:
    layers: list = []
    for filters in (32, 64, 128):
        layers += [Conv(filters, 3), ReLU(), MaxPool(2)]
    layers.append(Flatten() if head == "flatten" else GlobalAvgPool())
    layers += [Dense(128), ReLU(), Dense(classes)]
    return ModelSpec("seed004_cnn", input_shape, classes, tuple(layers), f"head={head}")
