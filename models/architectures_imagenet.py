"""ImageNet-scale architectures (VGG16-D, Xception), registered with ``models.zoo``.

Both take a ``frozen`` option: the convolutional backbone is not trainable (BatchNorm in
inference mode) and only the classifier head trains, the seeds' feature-extraction set-up.
"""

from __future__ import annotations

from models.spec import (
    BatchNorm,
    Conv,
    Dense,
    Dropout,
    Flatten,
    GlobalAvgPool,
    Layer,
    MaxPool,
    ModelSpec,
    ReLU,
    Residual,
    SeparableConv,
)
from models.zoo import Option, register

FROZEN = Option(False, (False, True))

# VGG configuration D: filters per conv, "M" for a 2x2 max pool.
_VGG16_D = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")


def _classifier(width: int, classes: int) -> tuple[Layer, ...]:
    return (
        Dense(width),
        ReLU(),
        Dropout(0.5),
        Dense(width),
        ReLU(),
        Dropout(0.5),
        Dense(classes),
    )


@register(
    "vgg16",
    input_shape=(224, 224, 3),
    classes=1000,
    fixed_input=True,
    description=(
        "VGG16 configuration D (13 conv 3x3 same + ReLU, 5 max pools), flatten, classifier "
        "fc-relu-dropout0.5 x2 then fc: width 4096 (ImageNet, 138,357,544 params at 224/1000) or "
        "512 (CIFAR-sized); classifier=auto picks 4096 when min(H, W) >= 224, else 512"
    ),
    source="Simonyan & Zisserman 2014, table 1 column D; torchvision/keras.applications VGG16",
    options={"classifier": Option("auto", ("auto", "fc4096", "fc512")), "frozen": FROZEN},
)
def vgg16(input_shape: tuple[int, ...], classes: int, classifier: str, frozen: bool) -> ModelSpec:
    layers: list[Layer] = []
    for item in _VGG16_D:
        layers += [MaxPool(2)] if item == "M" else [Conv(item, 3), ReLU()]
    layers.append(Flatten())
    backbone = len(layers)
    if classifier == "auto":
        classifier = "fc4096" if min(input_shape[:2]) >= 224 else "fc512"
    width = 4096 if classifier == "fc4096" else 512
    layers += _classifier(width, classes)
    note = f"classifier={classifier}" + (", frozen backbone" if frozen else "")
    return ModelSpec("vgg16", input_shape, classes, tuple(layers), note, backbone if frozen else 0)


def _sep(filters: int, relu_first: bool = True) -> tuple[Layer, ...]:
    """[ReLU] - SeparableConv(3x3, same, no bias) - BatchNorm."""
    block = (SeparableConv(filters, 3, bias=False), BatchNorm())
    return ((ReLU(),) + block) if relu_first else block


def _down(first: int, second: int, relu_first: bool = True) -> Residual:
    """Two separable convs and a 3x3/2 max pool; shortcut 1x1/2 conv + BatchNorm."""
    body = _sep(first, relu_first) + _sep(second) + (MaxPool(3, 2, "same"),)
    return Residual(body, (Conv(second, 1, 2, "same", bias=False), BatchNorm()))


@register(
    "xception",
    input_shape=(299, 299, 3),
    classes=1000,
    fixed_input=True,
    description=(
        "Xception as in keras.applications: entry flow (2 convs, 3 down-sampling residual "
        "blocks), 8 middle residual blocks of 3 separable convs, exit flow, GAP, fc; "
        "22,910,480 params (22,855,952 trainable) at 299/1000; any input from 7x7 up"
    ),
    source="Chollet 2017; keras.applications.Xception (include_top=True)",
    options={"frozen": FROZEN},
)
def xception(input_shape: tuple[int, ...], classes: int, frozen: bool) -> ModelSpec:
    layers: list[Layer] = [
        Conv(32, 3, 2, "valid", bias=False),
        BatchNorm(),
        ReLU(),
        Conv(64, 3, 1, "valid", bias=False),
        BatchNorm(),
        ReLU(),
        _down(128, 128, relu_first=False),
        _down(256, 256),
        _down(728, 728),
    ]
    layers += [Residual(_sep(728) * 3) for _ in range(8)]
    layers.append(_down(728, 1024))
    layers += [*_sep(1536, relu_first=False), ReLU(), *_sep(2048, relu_first=False), ReLU()]
    layers.append(GlobalAvgPool())
    backbone = len(layers)
    layers.append(Dense(classes))
    note = "frozen backbone" if frozen else ""
    return ModelSpec(
        "xception", input_shape, classes, tuple(layers), note, backbone if frozen else 0
    )
