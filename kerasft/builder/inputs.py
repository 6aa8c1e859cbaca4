"""Layers that turn whatever images a user has into the channels the backbone takes.

Everything here is a built-in Keras layer, so a saved model reloads in plain Keras.
"""

from __future__ import annotations

import keras
import numpy as np

from kerasft.errors import KerasftError

# ITU-R BT.601 luma weights of R, G and B (what PIL's convert("L") uses).
LUMINANCE = (0.299, 0.587, 0.114)


def normalize_input_shape(input_shape: tuple) -> tuple:
    """(H, W) becomes (H, W, 1); anything but rank 2 or 3, or no channels, is refused with the fix.

    Which channel counts fit is the backbone's business (see `channel_matrix`).
    """
    shape = tuple(input_shape)
    if len(shape) == 2:
        return (*shape, 1)
    if len(shape) != 3:
        raise KerasftError(
            f"input_shape={shape!r} has rank {len(shape)}: kerasft builds image models, whose "
            "samples are (height, width) or (height, width, channels). Pass e.g. "
            "input_shape=(28, 28, 1) or (None, None, 3)."
        )
    if not isinstance(shape[-1], (int, np.integer)) or shape[-1] < 1:
        raise KerasftError(
            f"input_shape={shape!r} has no channel count: give the images' channels last, e.g. "
            "input_shape=(28, 28, 1) for grayscale or (None, None, 3) for RGB."
        )
    return shape


def channel_matrix(channels: int, target: int, bgr: bool = False) -> np.ndarray | None:
    """The fixed `(channels, target)` matrix that maps image channels to a backbone's, or None
    where no conversion makes sense.

    Equal counts map to themselves; grayscale is repeated into RGB, RGBA loses alpha, RGB and
    RGBA become grayscale by luminance (alpha dropped), and `bgr` flips RGB for "caffe" backbones.

    Args:
        channels: the images' channels.
        target: the channels the backbone takes.
        bgr: put the three output channels in BGR order (only for `target == 3`).

    Example:

    >>> from kerasft.builder.inputs import channel_matrix
    >>> [round(float(w), 3) for w in channel_matrix(3, 1).ravel()]
    [0.299, 0.587, 0.114]
    >>> channel_matrix(1, 4) is None
    True
    """
    if target == 3 and channels in (1, 3, 4):
        matrix = np.zeros((channels, 3), dtype="float32")
        for out in range(3):
            source = 0 if channels == 1 else out
            matrix[source, 2 - out if bgr else out] = 1.0
        return matrix
    if target == 1 and channels in (3, 4):
        matrix = np.zeros((channels, 1), dtype="float32")
        matrix[:3, 0] = LUMINANCE
        return matrix
    if channels == target:
        return np.eye(channels, dtype="float32")
    # 1 or 3 -> 4 (which alpha?), 2 -> 3, anything -> 5+: no default a user would expect.
    return None


def channel_adapter(
    input_shape: tuple,
    backbone_shape: tuple,
    bgr: bool = False,
    name: str = "kft_channels",
):
    """A frozen 1x1 projection from the images' channels to the backbone's, or None if identity.

    Raises a `KerasftError` naming both shapes when no fixed conversion fits.

    Args:
        input_shape: the shape of one raw image, `(H, W, C)`.
        backbone_shape: the backbone's input shape, `(batch, H, W, C)` or `(H, W, C)`.
        bgr: the backbone wants BGR ("caffe" preprocessing).
        name: the layer's name (kept frozen by `kft.unfreeze`, which knows the prefix).
    """
    channels, target = int(input_shape[-1]), backbone_shape[-1]
    target = 3 if target is None else int(target)
    matrix = channel_matrix(channels, target, bgr=bgr and target == 3)
    if matrix is None:
        raise KerasftError(
            f"input_shape={tuple(input_shape)!r} has {channels} channel(s) but the backbone "
            f"takes input of shape {tuple(backbone_shape)!r} ({target} channels), and there is "
            f"no standard conversion from {channels} to {target}. Pass images with {target} "
            f"channels (input_shape=(H, W, {target})), or wrap the backbone with your own "
            f"adapter, e.g. keras.Sequential([keras.Input((H, W, {channels})), "
            f"keras.layers.Conv2D({target}, 1), backbone])."
        )
    if channels == target and np.array_equal(matrix, np.eye(channels)):
        return None
    layer = keras.layers.Dense(target, use_bias=False, trainable=False, name=name)
    layer.build((None, None, None, channels))
    layer.set_weights([matrix])
    return layer
