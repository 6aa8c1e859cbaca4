"""`kerasft.predict`: a model's predictions on arrays, a tf.data pipeline or image files, with TTA."""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np

from kerasft.data.channels import missing_channel_axis, with_channel_axis
from kerasft.data.image_files import as_path_list
from kerasft.errors import KerasftError
from kerasft.evaluation.tta import TestTimeAugmentation


def _input_shape(model) -> tuple | None:
    try:
        return tuple(model.inputs[0].shape)
    except (AttributeError, IndexError, TypeError, ValueError):
        return None


def _for_model(x: np.ndarray, model) -> np.ndarray:
    """Grayscale batches `(N, H, W)` get the channel axis a `(H, W, 1)` model expects."""
    shape = _input_shape(model)
    # A model whose input shape is unknown gets its batches as they are.
    return x if shape is None else with_channel_axis(x, shape)


def _is_dataset(data) -> bool:
    import tensorflow as tf

    return isinstance(data, tf.data.Dataset)


def iter_batches(
    model, data, batch_size: int = 32, labels: bool = False
) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    """Yield `(x, y)` NumPy batches from arrays, an `(x, y)` tuple or a `tf.data.Dataset`.

    A dataset of single examples (one rank less than the model's input) is batched here. With
    `labels=True` every element must carry a label, else `y` is None.
    """
    if _is_dataset(data):
        spec = data.element_spec
        has_y = isinstance(spec, tuple) and len(spec) >= 2
        x_spec = spec[0] if isinstance(spec, tuple) else spec
        if isinstance(x_spec, dict) or isinstance(x_spec, tuple):
            raise KerasftError(
                "Datasets with several inputs (dicts or nested tuples) are not supported here; "
                "give a dataset of (image, label) pairs."
            )
        if labels and not has_y:
            raise KerasftError(
                "The dataset yields images only; evaluation needs (image, label) pairs, e.g. "
                "tf.data.Dataset.zip((images, labels))."
            )
        shape = _input_shape(model)
        if shape is not None and x_spec.shape.rank == len(shape) - 1:
            # One rank short: single examples, unless they are grayscale batches missing the
            # channel axis of a (H, W, 1) model.
            if not missing_channel_axis(x_spec.shape, shape):
                data = data.batch(batch_size)
        for element in data.as_numpy_iterator():
            if has_y:
                yield _for_model(element[0], model), element[1]
            else:
                yield _for_model(element, model), None
        return
    if isinstance(data, (tuple, list)) and len(data) in (2, 3) and labels:
        x, y = np.asarray(data[0]), np.asarray(data[1])
        if len(x) != len(y):
            raise KerasftError(
                f"x has {len(x)} samples but y has {len(y)}; give arrays of the same length."
            )
    elif labels:
        raise KerasftError(
            f"Evaluation data must be a tf.data.Dataset of (x, y) or a tuple (x, y) of arrays; "
            f"got {type(data).__name__}."
        )
    else:
        x, y = np.asarray(data), None
    x = _for_model(x, model)
    for i in range(0, len(x), batch_size):
        yield x[i : i + batch_size], (None if y is None else y[i : i + batch_size])


def resolve_tta(tta: bool | TestTimeAugmentation | None) -> TestTimeAugmentation | None:
    """`True` -> the default `TestTimeAugmentation()`, `False`/None -> None, an instance as is."""
    if tta is True:
        return TestTimeAugmentation()
    if tta is False or tta is None:
        return None
    if isinstance(tta, TestTimeAugmentation):
        return tta
    raise KerasftError(
        f"tta must be True, False or a kerasft TestTimeAugmentation; got {type(tta).__name__}."
    )


def predict_batch(model, x: np.ndarray, tta: TestTimeAugmentation | None = None) -> np.ndarray:
    """Predictions for one batch, averaged over `tta`'s views when given."""
    if tta is not None:
        return tta.predict_batch(model, x)
    return np.asarray(model.predict_on_batch(x))


def predict_checked_files(
    model,
    checks,
    size: tuple[int, int] | None,
    tta: TestTimeAugmentation | None = None,
    batch_size: int = 32,
) -> np.ndarray:
    """Predictions on checked image files (`kerasft.data.image_files`), rows in their order.

    Args:
        model: a Keras model.
        checks: the readable files' `ImageCheck`s.
        size: `(height, width)` every image is resized to, or None for each image's own.
        tta: test-time views to average over, or None.
        batch_size: images per batch.
    """
    from kerasft.data.image_files import iter_model_batches

    out = None
    for indices, xb in iter_model_batches(checks, _input_shape(model), size, batch_size):
        preds = predict_batch(model, xb, tta)
        if out is None:
            out = np.zeros((len(checks), *preds.shape[1:]), preds.dtype)
        out[indices] = preds
    if out is None:
        raise KerasftError("No images to predict on: none of the files could be read.")
    return out


def _predict_files(
    model, paths: list[str], tta, batch_size: int, image_size, recorded
) -> np.ndarray:
    from kerasft.data.files import warn_skipped
    from kerasft.data.image_files import find_images
    from kerasft.data.model_input import model_image_size

    found = find_images(paths)
    warn_skipped({c.path: c.reason for c in found.broken})
    size = model_image_size(model, image_size, recorded)
    return predict_checked_files(model, found.readable, size, tta, batch_size)


def _predict_audio_files(model, paths: list[str], batch_size: int) -> np.ndarray:
    """Audio files (folders searched recursively) read at 16 kHz, centre-cropped or padded to
    the model's clip length; the unreadable ones named in one warning."""
    from kerasft.backbones.log_mel import SAMPLE_RATE
    from kerasft.data.audio import AUDIO_EXTENSIONS, fit_length
    from kerasft.data.audio_files import read_audios

    files = []
    for path in paths:
        if os.path.isdir(path):
            files += sorted(
                os.path.join(root, name)
                for root, _, names in os.walk(path)
                for name in names
                if name.lower().endswith(AUDIO_EXTENSIONS)
            )
        else:
            files.append(path)
    waves, _, _ = read_audios(files, SAMPLE_RATE)
    if not waves:
        raise KerasftError(f"No audio to predict on: none of {len(files)} files could be read.")
    length = model.inputs[0].shape[1] or max(len(w) for w in waves)
    x = np.stack([fit_length(w, length) for w in waves]).astype("float32")
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0))


def predict(
    model,
    x,
    tta: bool | TestTimeAugmentation = False,
    batch_size: int = 32,
    image_size: int | tuple[int, int] | None = None,
) -> np.ndarray:
    """Predictions of `model` on `x` (an array, a `tf.data.Dataset` or image files), with TTA.

    With `tta=True` each image's prediction is the mean over the image, its horizontal mirror and
    two shifted copies (see `TestTimeAugmentation`); pass an instance to choose the views.

    Image files (a path, or a list of paths; folders are searched recursively) are read as
    RGB (grayscale for a one-channel model) and resized to the model's input size; the rows
    are the readable files in the order found, and the unreadable ones are named in one
    `kerasft.data.SkippedFilesWarning`. `kft.predict_files` gives the file names and class
    names with the probabilities.

    Args:
        model: a Keras model, or the path of a `.keras` file or run directory.
        x: images: an array, a `tf.data.Dataset` (of images or `(images, labels)`), or image
            files and folders (a path or a list of paths); for a text model, a string or a
            list (or array) of strings: the texts; for an audio model, waveforms
            `(N, samples)` at 16 kHz or audio files and folders (read, resampled and
            centre-cropped or padded to the model's clip length).
        tta: average over test-time views: True for the default views, or a
            `TestTimeAugmentation`.
        batch_size: batch size for array inputs and files.
        image_size: for files and a model of free input size (`None x None`), the size to
            resize them to (default: the size the model file records, else the size of the
            model's own `Resizing` layer, else each image's own).

    Example:

    >>> import numpy as np, keras, kerasft as kft
    >>> model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(),
    ...                           keras.layers.Dense(4, activation="softmax")])
    >>> kft.predict(model, np.zeros((5, 8, 8, 3)), tta=True).shape
    (5, 4)
    """
    recorded = None
    if isinstance(model, (str, os.PathLike)):
        from kerasft import model_file

        loaded = model_file.load(model)
        model, recorded = loaded.model, loaded.image_size
    tta = resolve_tta(tta)
    if any(str(t.dtype) == "string" for t in model.inputs):
        # A text model: strings are the texts themselves, never file paths.
        if tta is not None:
            raise KerasftError("tta= augments images; a text model takes no test-time views.")
        texts = np.asarray([x] if isinstance(x, str) else x, dtype=object).reshape(-1)
        return np.asarray(model.predict(texts, batch_size=batch_size, verbose=0))
    paths = as_path_list(x)
    from kerasft.builder.audio import is_audio_model

    if is_audio_model(model):
        if tta is not None:
            raise KerasftError("tta= augments images; an audio model takes no test-time views.")
        if paths is not None:
            return _predict_audio_files(model, paths, batch_size)
    if paths is not None:
        return _predict_files(model, paths, tta, batch_size, image_size, recorded)
    if not _is_dataset(x) and tta is None:
        x = _for_model(np.asarray(x), model)
        return np.asarray(model.predict(x, batch_size=batch_size, verbose=0))
    chunks = [predict_batch(model, xb, tta) for xb, _ in iter_batches(model, x, batch_size)]
    if not chunks:
        raise KerasftError("No samples to predict on: the input is empty.")
    return np.concatenate(chunks, axis=0)
