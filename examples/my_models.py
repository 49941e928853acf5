"""A spec file: your own CNN, written once in bench's layer vocabulary, run in every framework.

Load it with `[models] files = ["examples/my_models.py"]` in bench.toml, or
`--model-file examples/my_models.py` on `bench run` / `bench models`. Then:

    python -m bench models --model-file examples/my_models.py              # it is listed
    python -m bench models --model-file examples/my_models.py --verify tiny_vgg
    python -m bench run --model-file examples/my_models.py --models tiny_vgg

A spec file imports `models.spec` (the layers) and `models.zoo` (`register`, `Option`), and
never a framework: bench reads it in its parent process, which imports none.
"""

from models.spec import Conv, Dense, Dropout, GlobalAvgPool, MaxPool, ModelSpec, ReLU
from models.zoo import Option, register


@register(
    "tiny_vgg",
    input_shape=(28, 28, 1),
    classes=10,
    description="[conv(3x3,same)-relu-conv(3x3,same)-relu-pool2] x2 - GAP - dropout - fc",
    source="examples/my_models.py: a small VGG-style CNN",
    options={"width": Option(16, (8, 16, 32))},
)
def tiny_vgg(input_shape: tuple[int, ...], classes: int, width: int) -> ModelSpec:
    """Two VGG blocks of `width` and 2·`width` filters, global average pooling, a classifier.

    `input_shape` is (H, W, C) and `classes` the class count: bench passes the data's own
    (28×28×1 and 10 are the defaults, used with synthetic data). The last layer gives the logits.
    """
    layers: list = []
    for filters in (width, 2 * width):
        layers += [Conv(filters, 3), ReLU(), Conv(filters, 3), ReLU(), MaxPool(2)]
    layers += [GlobalAvgPool(), Dropout(0.25), Dense(classes)]
    return ModelSpec("tiny_vgg", input_shape, classes, tuple(layers), f"width={width}")
