"""The channel axis of grayscale images: `(N, H, W)` batches become `(N, H, W, 1)`.

`keras.datasets` and many arrays hold grayscale images without a channel axis, while
kerasft models, pipelines and figures work on channels-last batches. This module is the one
rule for when that axis is missing, for arrays and for `tf.data` element shapes alike.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def missing_channel_axis(shape: Sequence, input_shape: Sequence | None = None) -> bool:
    """Whether a batch of `shape` is grayscale images that lack their channel axis.

    Args:
        shape: the batch's shape (a tuple or a `tf.TensorShape`; unknown sizes as None).
        input_shape: the shape the batch should fit, batch axis included, e.g. a model's
            `(None, 28, 28, 1)`. With it, the axis is missing when the batch is one rank
            short of it, it wants one channel, and the batch's last axis is not already 1
            (that is one image without its batch axis). Without it, any rank-3 batch is a
            grayscale `(N, H, W)` one.

    Example:

    >>> from kerasft.data.channels import missing_channel_axis
    >>> missing_channel_axis((8, 28, 28), (None, 28, 28, 1))
    True
    >>> missing_channel_axis((28, 28, 1), (None, 28, 28, 1))  # one image, not a batch
    False
    >>> missing_channel_axis((8, 28, 28), (None, 28, 28, 3))
    False
    """
    if hasattr(shape, "as_list"):  # a tf.TensorShape, also inside a traced tf.data map
        if shape.rank is None:
            return False
        shape = shape.as_list()
    shape = tuple(shape)
    if input_shape is None:
        return len(shape) == 3
    input_shape = tuple(input_shape)
    return len(shape) == len(input_shape) - 1 and input_shape[-1] == 1 and shape[-1] != 1


def with_channel_axis(images, input_shape: Sequence | None = None):
    """`images` with the channel axis added when `missing_channel_axis` says it is missing.

    Args:
        images: a batch of images: a NumPy array (or anything `np.asarray` takes) or a
            tensor, which stays a tensor.
        input_shape: as in `missing_channel_axis`: the shape the batch should fit, or None.

    Example:

    >>> import numpy as np
    >>> from kerasft.data.channels import with_channel_axis
    >>> with_channel_axis(np.zeros((8, 28, 28))).shape
    (8, 28, 28, 1)
    >>> with_channel_axis(np.zeros((8, 28, 28, 3))).shape
    (8, 28, 28, 3)
    """
    if not hasattr(images, "shape"):
        images = np.asarray(images)
    return images[..., None] if missing_channel_axis(images.shape, input_shape) else images
