"""Images brought to what a model takes: its rank, its channels and one fixed size per batch.

Example:

>>> import numpy as np, keras
>>> from kerasft.data.model_input import fit_images, model_image_size
>>> model = keras.Sequential([keras.Input((None, None, 3)), keras.layers.Resizing(32, 32)])
>>> model_image_size(model)  # free input size: the size its Resizing layer takes images to
(32, 32)
>>> tuple(fit_images(np.zeros((2, 28, 28), "uint8"), (None, 32, 32, 3)).shape)
(2, 32, 32, 3)
"""

from __future__ import annotations

from collections.abc import Sequence

from kerasft.errors import KerasftError


def fit_images(images, input_shape: Sequence):
    """Bring a batch of images (tf tensor) to the model's rank, channels and fixed size.

    Args:
        images: a batch `(N, H, W)` or `(N, H, W, C)`, a NumPy array or a tensor.
        input_shape: the model's input shape, batch axis included, e.g. `(None, 28, 28, 1)`.
    """
    import tensorflow as tf

    from kerasft.data.channels import with_channel_axis

    rank = len(input_shape)
    x = tf.convert_to_tensor(images)
    if rank == 4:
        x = with_channel_axis(x)  # grayscale (N, H, W); its channels are matched below
    if rank == 4:
        want = input_shape[-1]
        if want == 3 and x.shape[-1] == 1:
            x = tf.image.grayscale_to_rgb(x)
        elif want == 1 and x.shape[-1] == 3:
            x = tf.image.rgb_to_grayscale(tf.cast(x, tf.float32))
        height, width = input_shape[1], input_shape[2]
        if height is not None and width is not None and tuple(x.shape[1:3]) != (height, width):
            x = tf.image.resize(tf.cast(x, tf.float32), (height, width))
    elif rank == 3 and x.shape.rank == 4:
        if x.shape[-1] == 3:
            x = tf.image.rgb_to_grayscale(tf.cast(x, tf.float32))
        x = x[..., 0]
    return x


def _resizing_size(model) -> tuple[int, int] | None:
    """The size of the first Resizing layer a free-size model meets (kft.build's `kft_resize`)."""
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.layers.Resizing):
            config = layer.get_config()
            return int(config["height"]), int(config["width"])
    return None


def model_image_size(
    model, image_size: int | Sequence[int] | None = None, recorded: Sequence[int] | None = None
) -> tuple[int, int] | None:
    """The `(height, width)` to bring images to for `model`, or None for each image's own.

    A model with a fixed input size takes that size (an `image_size` that differs from it is an
    error). A model whose input is `None x None` takes, in order: `image_size`, the size
    `recorded` with it (`model_file.save(image_size=...)`), the size of its first `Resizing`
    layer (the side `kft.build` resizes to for the backbone), else None.

    Args:
        model: a Keras image model.
        image_size: the size asked for, an int (square) or `(height, width)`, or None.
        recorded: the size recorded in the model file, or None.
    """
    shape = tuple(model.inputs[0].shape)
    wanted = _pair(image_size) if image_size is not None else None
    if len(shape) >= 3 and shape[1] is not None and shape[2] is not None:
        fixed = (int(shape[1]), int(shape[2]))
        if wanted is not None and wanted != fixed:
            raise KerasftError(
                f"image size {wanted} does not match the model's fixed input size {fixed}; drop "
                "the image size (images are resized to the model's input)."
            )
        return fixed
    if wanted is not None:
        return wanted
    if recorded is not None:
        return _pair(recorded)
    return _resizing_size(model)


def _pair(size) -> tuple[int, int]:
    if isinstance(size, int) and not isinstance(size, bool):
        pair = (size, size)
    else:
        try:
            pair = tuple(int(s) for s in size)
        except (TypeError, ValueError):
            pair = ()
    if len(pair) != 2 or min(pair) < 1:
        raise KerasftError(
            f"image size {size!r}: give a positive side like 224 or (height, width) like (224, 160)."
        )
    return pair


def uint8_batch(images, input_shape: Sequence, size: Sequence[int] | None):
    """A batch of 0..255 images as uint8 in the model's rank and channels, resized to `size`.

    Resizing is antialiased and rounded, as in kerasft's training pipeline, and grayscale from
    RGB is rounded too, so a grayscale image passes through unchanged.

    Args:
        images: `(N, H, W)` or `(N, H, W, C)` pixel values 0..255.
        input_shape: the model's input shape, batch axis included.
        size: `(height, width)` to resize to, or None to keep the images' size.
    """
    import numpy as np
    import tensorflow as tf

    from kerasft.data.channels import with_channel_axis

    x = tf.convert_to_tensor(with_channel_axis(np.asarray(images)))
    want = 1 if len(input_shape) == 3 else int(input_shape[-1] or 3)
    if want == 3 and x.shape[-1] == 1:
        x = tf.image.grayscale_to_rgb(x)
    elif want == 1 and x.shape[-1] == 3:
        x = tf.round(tf.image.rgb_to_grayscale(tf.cast(x, tf.float32)))
    if size is not None and tuple(x.shape[1:3]) != tuple(size):
        x = tf.round(tf.image.resize(tf.cast(x, tf.float32), tuple(size), antialias=True))
    x = np.asarray(tf.cast(tf.clip_by_value(tf.cast(x, tf.float32), 0, 255), tf.uint8))
    return x[..., 0] if len(input_shape) == 3 else x
