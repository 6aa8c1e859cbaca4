"""A SavedModel whose serving signature takes raw uint8 images of one fixed size (or strings).

kerasft models take raw 0..255 pixels and cast them inside, so a server or phone can feed the
decoded image bytes as they are. The signature fixes height and width (a model of free input
size needs a size) and leaves the batch free.

Example:

>>> import os, tempfile, keras, numpy as np, tensorflow as tf
>>> from kerasft.deploy import export_saved_model
>>> model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Rescaling(1 / 255),
...                           keras.layers.Flatten(), keras.layers.Dense(2, activation="softmax")])
>>> path = export_saved_model(model, os.path.join(tempfile.mkdtemp(), "sm"))
>>> reloaded = tf.saved_model.load(path)  # keep it: its variables live as long as it does
>>> served = reloaded.serve(tf.zeros((3, 8, 8, 3), tf.uint8))
>>> served.shape, served.dtype.name
(TensorShape([3, 2]), 'float32')
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from kerasft.data.model_input import model_image_size
from kerasft.errors import KerasftError


def takes_text(model) -> bool:
    """True for a model whose input is a batch of strings (a kerasft text model)."""
    return any(str(t.dtype) == "string" for t in model.inputs)


def takes_waveforms(model) -> bool:
    """True for a kerasft audio model (mono float waveforms in, a `LogMel` front end)."""
    from kerasft.builder.audio import is_audio_model

    return is_audio_model(model)


def serving_spec(model, size: Sequence[int] | None = None):
    """The `tf.TensorSpec` of a batch of uint8 images for `model`, of fixed height and width
    (for a text model: a batch of strings; for an audio model: float32 waveforms).

    Args:
        model: a Keras image model, input `(None, H, W[, C])`.
        size: `(height, width)` for a model of free input size (ignored when fixed).

    Raises:
        KerasftError: the model's size is free and no size is given.
    """
    import tensorflow as tf

    if takes_text(model):  # a text model tokenizes inside: clients send the strings
        return tf.TensorSpec([None], tf.string, name="texts")
    if takes_waveforms(model):  # an audio model makes its spectrograms inside
        return tf.TensorSpec([None, model.inputs[0].shape[1]], tf.float32, name="waveforms")
    shape = list(model.inputs[0].shape)
    if len(shape) not in (3, 4):
        raise KerasftError(
            f"model input {tuple(shape)}: export takes image models, input (None, H, W, C) or "
            "(None, H, W)."
        )
    if shape[1] is None or shape[2] is None:
        if size is None:
            raise KerasftError(
                "the model's input size is free (None x None) and no size is recorded; give "
                "the size to serve at, e.g. --image-size 224 (image_size=224)."
            )
        shape[1], shape[2] = int(size[0]), int(size[1])
    if len(shape) == 4 and shape[3] is None:
        shape[3] = 3
    return tf.TensorSpec([None, *shape[1:]], tf.uint8, name="images")


def export_saved_model(
    model,
    path: str | os.PathLike,
    image_size: int | Sequence[int] | None = None,
    recorded_size: Sequence[int] | None = None,
) -> Path:
    """Write `model` as a SavedModel whose `serve` (and `serving_default`) takes uint8 images.

    Args:
        model: a Keras image model taking raw 0..255 pixels.
        path: the SavedModel folder to write.
        image_size: for a model of free input size: the side or `(height, width)` to serve at.
        recorded_size: the size recorded with the model (`model_file`), used when
            `image_size` is None.

    Returns:
        The folder written.
    """
    import keras
    import tensorflow as tf

    if takes_text(model):
        spec = serving_spec(model)

        def serve(texts):
            return model(texts, training=False)

    else:
        spec = serving_spec(model, model_image_size(model, image_size, recorded_size))
        dtype = model.inputs[0].dtype

        def serve(images):
            # The cast happens in the graph, so clients send the decoded bytes as they are.
            return model(tf.cast(images, dtype), training=False)

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", serve, input_signature=[spec])
    archive.write_out(os.fspath(path), verbose=False)
    return Path(path)
