"""Layers that turn whatever images a user has into the backbone's RGB input.

Everything here is a built-in Keras layer, so a saved model reloads in plain Keras.
"""

from __future__ import annotations

import keras
import numpy as np

from kerasft.errors import KerasftError


def normalize_input_shape(input_shape: tuple) -> tuple:
    """(H, W) becomes (H, W, 1); anything but rank 2 or 3 is refused with the fix."""
    shape = tuple(input_shape)
    if len(shape) == 2:
        return (*shape, 1)
    if len(shape) != 3:
        raise KerasftError(
            f"input_shape={shape!r} has rank {len(shape)}: kerasft builds image models, whose "
            "samples are (height, width) or (height, width, channels). Pass e.g. "
            "input_shape=(28, 28, 1) or (None, None, 3)."
        )
    if shape[-1] not in (1, 3, 4):
        raise KerasftError(
            f"input_shape={shape!r} has {shape[-1]} channels; kerasft accepts 1 (grayscale), "
            "3 (RGB) or 4 (RGBA). Convert the images or pass the right input_shape."
        )
    return shape


def channel_adapter(channels: int, bgr: bool, name: str = "kft_channels"):
    """A frozen 1x1 projection from 1/3/4 input channels to RGB (or BGR), or None if identity.

    Grayscale is repeated into three channels, RGBA loses alpha, and "caffe" backbones get
    their RGB->BGR flip, all in one fixed matrix.
    """
    matrix = np.zeros((channels, 3), dtype="float32")
    for out in range(3):
        source = 0 if channels == 1 else out
        matrix[source, 2 - out if bgr else out] = 1.0
    if channels == 3 and not bgr:
        return None
    layer = keras.layers.Dense(3, use_bias=False, trainable=False, name=name)
    layer.build((None, None, None, channels))
    layer.set_weights([matrix])
    return layer
