"""`from_arrays` and `from_dataframe`: images already in memory."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

from kerasft.data.channels import with_channel_axis
from kerasft.data.data_splits import DataSplits
from kerasft.data.labels import encode_labels
from kerasft.data.loading import Part, assemble
from kerasft.data.splits import DEFAULT_SEED
from kerasft.errors import KerasftError, did_you_mean


def check_images_array(x, name: str = "x") -> np.ndarray:
    """Images as (N, H, W, C) with C in 1, 3, 4, or a clear `KerasftError`."""
    x = np.asarray(x)
    if x.dtype.kind not in "uif":
        raise KerasftError(f"{name} must hold numbers; got dtype {x.dtype}.")
    x = with_channel_axis(x)  # (N, H, W) grayscale, as keras.datasets gives it
    if x.ndim != 4 or x.shape[-1] not in (1, 3, 4):
        raise KerasftError(
            f"{name} must be images of shape (N, H, W) or (N, H, W, C) with C in 1, 3, 4 "
            f"(channels last); got shape {x.shape}."
        )
    if len(x) == 0:
        raise KerasftError(f"{name} holds no images.")
    if x.dtype.kind == "f":
        if not np.all(np.isfinite(x)):
            raise KerasftError(f"{name} contains NaN or infinite pixel values.")
        if x.max() <= 1.0:
            warnings.warn(
                f"{name} holds floats in [0, 1]; kerasft models take raw 0..255 images "
                "(their preprocessing layer rescales). Multiply by 255 unless that is intended.",
                stacklevel=3,
            )
        x = x.astype(np.float32, copy=False)
    elif x.dtype != np.uint8:
        if x.min() < 0 or x.max() > 255:
            raise KerasftError(
                f"{name} integer pixels must be in 0..255; got {x.min()}..{x.max()}."
            )
        x = x.astype(np.uint8)
    return x


def _parts(pieces: dict[str, tuple[np.ndarray, np.ndarray]]):
    """Parts whose elements are indices into one image tensor, and the decode that gathers.

    Shuffling indices is free; the images are gathered after, in the parallel map.
    """
    import tensorflow as tf

    images = tf.constant(np.concatenate([x for x, _ in pieces.values()]))
    parts, offset = {}, 0
    for key, (x, y) in pieces.items():
        labels = tf.constant(y)

        def elements(indices, labels=labels, offset=offset):
            indices = tf.constant(indices, dtype=tf.int64)
            return tf.data.Dataset.from_tensor_slices(
                (indices + offset, tf.gather(labels, indices))
            )

        parts[key] = Part(y, elements, cheap=True)
        offset += len(x)
    return parts, lambda index: tf.gather(images, index)


def from_arrays(
    x,
    y,
    image_size: tuple[int, int] | int | None = None,
    batch_size: int = 32,
    validation_split: float | None = None,
    test_split: float | None = None,
    seed: int | None = DEFAULT_SEED,
    *,
    class_names: Sequence[str] | None = None,
    num_classes: int | None = None,
    multilabel: bool | None = None,
    channels: int | None = None,
    validation_data: tuple | None = None,
    test_data: tuple | None = None,
    source: str = "arrays",
    **options,
) -> DataSplits:
    """Load NumPy image arrays and labels.

    Args:
        x: images (N, H, W) or (N, H, W, C), uint8 0..255 (floats are kept as float32).
        y: labels: class indices (N,) or (N, 1), class names, one-hot rows, or multi-hot rows
            (multilabel).
        image_size: (height, width) to resize to (e.g. 28x28 up to a backbone's 96x96).
        channels: 3 makes grayscale RGB (pretrained backbones need 3), None keeps them.
        class_names, num_classes: the classes; default: from the labels.
        multilabel: force (True) or forbid (False) multi-hot labels; None: detect.
        validation_data, test_data: `(x, y)` held-out sets, instead of carving fractions.
        batch_size, validation_split, test_split, seed, **options: as for `from_folder`.
        source: how `info.source` names where the data came from.

    Raises:
        KerasftError: for images of bad rank or dtype, labels of the wrong length, NaN,
            fractional or out-of-range labels.

    Example:

    ```python
    (x, y), (x_test, y_test) = keras.datasets.mnist.load_data()
    data = kft.data.from_arrays(x, y, image_size=32, channels=3, validation_split=0.1,
                                test_data=(x_test, y_test))
    ```
    """
    x = check_images_array(x)
    y, names, is_multilabel = encode_labels(
        y,
        class_names=class_names,
        num_classes=num_classes,
        multilabel=multilabel,
        num_examples=len(x),
    )
    pieces = {"train": (x, y)}
    for key, held_out in (("val", validation_data), ("test", test_data)):
        if held_out is None:
            continue
        if not isinstance(held_out, (tuple, list)) or len(held_out) != 2:
            raise KerasftError(f"{key} data must be a pair (x, y).")
        hx = check_images_array(held_out[0], name=f"{key} x")
        if hx.shape[1:] != x.shape[1:]:
            raise KerasftError(
                f"{key} images have shape {hx.shape[1:]} but training images {x.shape[1:]}."
            )
        hx = hx.astype(x.dtype, copy=False)
        hy, _, _ = encode_labels(
            held_out[1], class_names=names, multilabel=is_multilabel, num_examples=len(hx)
        )
        pieces[key] = (hx, hy)
    if not is_multilabel and len(names) < 2:
        raise KerasftError("a classifier needs at least two classes; the labels hold one.")

    parts, decode = _parts(pieces)
    resized = image_size is not None
    return assemble(
        parts,
        decode,
        class_names=names,
        multilabel=is_multilabel,
        image_size=image_size if resized else x.shape[1:3],
        channels=channels,
        output_channels=channels or x.shape[-1],
        source=source,
        batch_size=batch_size,
        validation_split=validation_split,
        test_split=test_split,
        seed=seed,
        # Arrays are in memory already: a cache only pays off when images get resized.
        cache_by_default=resized,
        **options,
    )


def _infer_shape(num_pixels: int) -> tuple[int, int, int]:
    for channels in (1, 3):
        side = math.isqrt(num_pixels // channels)
        if side * side * channels == num_pixels:
            return side, side, channels
    raise KerasftError(
        f"cannot tell the image shape of {num_pixels} pixel columns; pass image_shape=(H, W, C)."
    )


def from_dataframe(
    frame,
    label_col: str = "label",
    image_col: str | None = None,
    image_shape: tuple[int, ...] | None = None,
    **kwargs,
) -> DataSplits:
    """Load images stored in a pandas DataFrame, then as `from_arrays`.

    Either one row of pixel columns per image (like the Fashion-MNIST CSV: `label, pixel1,
    ..., pixel784`), reshaped to `image_shape` (inferred for square grayscale or RGB images),
    or, with `image_col`, a column holding one image array per row. For a DataFrame of file
    paths use `from_csv(frame, path_col=..., label_col=...)`.

    Args:
        frame: a pandas DataFrame.
        label_col: the label column.
        image_col: the column holding one image array per row; None: every other column is a pixel.
        image_shape: the shape of one image for pixel columns, e.g. (28, 28); inferred for square
            grayscale or RGB images.
        **kwargs: as for `from_arrays` (`image_size`, `channels`, `validation_split`, ...).

    Example:

    ```python
    frame = pandas.read_csv("fashion-mnist_train.csv")
    data = kft.data.from_dataframe(frame, label_col="label", image_size=32, channels=3)
    ```
    """
    if not hasattr(frame, "columns"):
        raise KerasftError(f"from_dataframe needs a pandas DataFrame; got {type(frame).__name__}.")
    columns = [str(c) for c in frame.columns]
    if label_col not in columns:
        raise KerasftError(
            f"label_col={label_col!r} is not a column.{did_you_mean(label_col, columns)} "
            f"Columns: {', '.join(columns[:10])}{'...' if len(columns) > 10 else ''}."
        )
    y = frame[label_col].to_numpy()
    if image_col is not None:
        if image_col not in columns:
            raise KerasftError(
                f"image_col={image_col!r} is not a column.{did_you_mean(image_col, columns)}"
            )
        try:
            x = np.stack([np.asarray(v) for v in frame[image_col]])
        except ValueError as err:
            raise KerasftError(f"images in {image_col!r} differ in shape ({err}).") from None
        if image_shape is not None:
            x = x.reshape((len(x), *image_shape))
    else:
        pixels = frame.drop(columns=[label_col])
        text = [c for c in pixels.columns if pixels[c].dtype.kind not in "biuf"]
        if text:
            hint = " (file paths? use kft.data.from_csv)" if len(pixels.columns) <= 3 else ""
            raise KerasftError(
                f"column(s) {[str(c) for c in text[:3]]} are not pixel values{hint}."
            )
        x = pixels.to_numpy()
        shape = tuple(image_shape) if image_shape is not None else _infer_shape(x.shape[1])
        if math.prod(shape) != x.shape[1]:
            raise KerasftError(
                f"image_shape={shape} needs {math.prod(shape)} pixel columns; found {x.shape[1]}."
            )
        x = x.reshape((len(x), *shape))
    return from_arrays(x, y, source=kwargs.pop("source", "dataframe"), **kwargs)
