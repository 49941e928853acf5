"""Images to the size and channels a model takes: bilinear resize with Pillow, grey ↔ RGB.

The plan decides when data and model differ (a fixed-design ImageNet model such as vgg16 fed
28×28 MNIST digits, or `input_sizes`); `load` then converts only the images a trial uses. Grey
becomes RGB by replicating the channel; RGB becomes grey with Pillow's "L" conversion
(ITU-R 601-2 luma). Pixels stay uint8 until `load` scales them to [0, 1].
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.data.source import DatasetError

if TYPE_CHECKING:
    import numpy as np


def fit(images: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """`images` (N, H, W, C) uint8 as (N, *shape) uint8; the same array if it already fits."""
    import numpy as np

    height, width, channels = shape
    if images.shape[1:] == shape:
        return images
    if images.shape[3] == 1 and channels == 3:
        images = np.repeat(images, 3, axis=3)
    if images.shape[1:3] != (height, width) or images.shape[3] != channels:
        images = np.stack([_one(img, (height, width), channels) for img in images])
    return images.reshape(-1, height, width, channels)


def _one(image: np.ndarray, size: tuple[int, int], channels: int) -> np.ndarray:
    import numpy as np

    try:
        from PIL import Image
    except ImportError:
        raise DatasetError(
            "resizing images needs Pillow, which is not installed: pip install pillow (or pip "
            "install -e '.[data]')"
        ) from None
    picture = Image.fromarray(image[..., 0] if image.shape[2] == 1 else image)
    picture = picture.convert("L" if channels == 1 else "RGB")
    if picture.size != (size[1], size[0]):
        picture = picture.resize((size[1], size[0]), Image.Resampling.BILINEAR)
    return np.asarray(picture, dtype=np.uint8).reshape(size[0], size[1], channels)
