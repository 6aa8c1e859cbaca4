"""Turning what users pass to `fine_tune` into checked, batched `tf.data` pipelines.

All checks run before training starts, so bad labels or shapes never surface as a
TensorFlow traceback in the middle of an epoch.
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from kerasft.data.channels import with_channel_axis
from kerasft.data.pipeline import untuned
from kerasft.errors import KerasftError


def _check_texts(x: np.ndarray, what: str) -> np.ndarray:
    x = np.asarray(x, dtype=object)
    if x.ndim != 1:
        raise KerasftError(
            f"{what} texts have shape {x.shape}, but a text model takes one string per "
            "example (a 1-D array or list of strings)."
        )
    bad = [i for i, t in enumerate(x) if not isinstance(t, (str, bytes))]
    if bad:
        raise KerasftError(
            f"{what} text at index {bad[0]} is {x[bad[0]]!r} ({type(x[bad[0]]).__name__}), "
            "not a string. Drop or convert it (missing texts in a CSV read as NaN)."
        )
    return x


def takes_text(model: keras.Model) -> bool:
    """True if the model's input is a batch of strings (a text model)."""
    return any(str(t.dtype) == "string" for t in model.inputs)


def takes_audio(model: keras.Model) -> bool:
    """True if the model takes waveforms (an audio model from `kft.build`: a `LogMel` front end)."""
    from kerasft.builder.audio import is_audio_model

    return is_audio_model(model)


def _check_waveforms(x: np.ndarray, model: keras.Model, what: str) -> np.ndarray:
    x = np.asarray(x)
    expected = model.input_shape  # (None, samples) or (None, None)
    if x.ndim != 2 or not np.issubdtype(x.dtype, np.number):
        raise KerasftError(
            f"{what} waveforms have shape {x.shape} ({x.dtype}), but an audio model takes "
            "mono clips of one length, (clips, samples) floats: average the channels and crop "
            "or pad (kft.data.from_audio_folder does both)."
        )
    if expected[1] is not None and x.shape[1] != expected[1]:
        raise KerasftError(
            f"{what} waveforms have {x.shape[1]} samples but the model takes {expected[1]}. "
            f"Build the model with input_shape=({x.shape[1]},) (the data's clip length)."
        )
    if not np.isfinite(x).all():
        row = int(np.argwhere(~np.isfinite(x))[0][0])
        raise KerasftError(
            f"{what} waveform at index {row} holds NaN or infinite samples. Drop or repair "
            "that clip."
        )
    return x


def _check_images(x: np.ndarray, model: keras.Model, what: str) -> np.ndarray:
    if takes_text(model):
        return _check_texts(x, what)
    if takes_audio(model):
        return _check_waveforms(x, model, what)
    expected = model.input_shape  # (None, H, W, C)
    x = with_channel_axis(x, expected)  # (N, H, W) grayscale for a (H, W, 1) model
    if x.ndim != len(expected):
        raise KerasftError(
            f"{what} images have shape {x.shape} (rank {x.ndim}) but the model takes batches "
            f"of shape {expected}. Reshape the images or build the model with a matching "
            "input_shape."
        )
    for got, want in zip(x.shape[1:], expected[1:]):
        if want is not None and got != want:
            raise KerasftError(
                f"{what} images have shape {x.shape[1:]} but the model takes {expected[1:]}. "
                "Build the model with input_shape matching your images (it resizes inside)."
            )
    return x


def check_labels(y: np.ndarray, task: str, num_outputs: int, what: str = "train") -> np.ndarray:
    """Raise a clear error for labels the model cannot learn from; return them as an array."""
    y = np.asarray(y)
    if y.dtype.kind in "fc" and np.isnan(y).any():
        bad = int(np.isnan(y).reshape(len(y), -1).any(axis=1).argmax())
        raise KerasftError(f"{what} labels contain NaN (first at index {bad}). Drop or fix them.")
    if task == "multiclass" and y.ndim == 1 or (task == "multiclass" and y.shape[-1] == 1):
        y = y.reshape(-1)
        if y.dtype.kind == "f" and not np.all(np.equal(np.mod(y, 1), 0)):
            raise KerasftError(
                f"{what} labels must be class indices, got non-integer values such as "
                f"{y[np.mod(y, 1) != 0][0].item()!r}."
            )
        bad = (y < 0) | (y >= num_outputs)
        if bad.any():
            i = int(bad.argmax())
            raise KerasftError(
                f"{what} label {y[i].item()!r} at index {i} is outside [0, {num_outputs}) for a model "
                f"with {num_outputs} classes. Relabel the data or build with "
                f"num_classes={int(y.max()) + 1}."
            )
    elif task in ("binary", "multilabel"):
        if ((y < 0) | (y > 1)).any():
            raise KerasftError(
                f"{what} labels for a {task} model must be 0/1 (or probabilities), got values "
                f"in [{y.min()}, {y.max()}]."
            )
    return y


def shuffled(ds: tf.data.Dataset, n: int, seed: int) -> tf.data.Dataset:
    """`ds` reshuffled each epoch with `seed`: the one shuffle every runner draws batches in.

    A shuffle's order depends on the dataset's length, buffer and seed, not on its elements,
    so images and their cached features shuffled here come in the same order.
    """
    return ds.shuffle(min(n, 20_000), seed=seed, reshuffle_each_iteration=True)


def to_arrays(data, model: keras.Model, task: str, what: str = "train"):
    """Checked `(images, targets)` arrays from `(x, y)`: targets as the loss expects them.

    Integer labels of a multiclass model become one-hot (the default loss smooths labels).
    """
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise KerasftError(
            f"{what} data must be an (images, labels) tuple of arrays or a tf.data.Dataset; got "
            f"{type(data).__name__}."
        )
    x = np.asarray(data[0], dtype=object if takes_text(model) else None)
    y = np.asarray(data[1])
    if len(x) != len(y):
        raise KerasftError(f"{what} has {len(x)} images but {len(y)} labels; they must match.")
    if len(x) == 0:
        raise KerasftError(f"{what} data is empty.")
    num_outputs = model.output_shape[-1]
    x = _check_images(x, model, what)
    y = check_labels(y, task, num_outputs, what)
    if task == "multiclass" and y.ndim == 1:
        y = np.eye(num_outputs, dtype="float32")[y.astype("int64")]
    return x, y.astype("float32")


def _checked_dataset(ds: tf.data.Dataset, model, task: str, what: str) -> tf.data.Dataset:
    num_outputs = model.output_shape[-1]
    first = next(iter(ds.take(1)), None)
    if first is None:
        raise KerasftError(f"The {what} dataset is empty.")
    if not isinstance(first, tuple) or len(first) < 2:
        raise KerasftError(
            f"The {what} dataset must yield (images, labels) batches; got one element of "
            f"type {type(first).__name__}."
        )
    _check_images(first[0].numpy(), model, what)
    check_labels(first[1].numpy(), task, num_outputs, what)
    label_spec = ds.element_spec[1]
    if task == "multiclass" and label_spec.dtype.is_integer:
        ds = ds.map(
            lambda x, y, *rest: (x, tf.one_hot(tf.reshape(y, [-1]), num_outputs), *rest),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    return untuned(ds.prefetch(tf.data.AUTOTUNE))


def _arrays_dataset(x, y, batch_size: int, shuffle: bool, seed: int) -> tf.data.Dataset:
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        ds = shuffled(ds, len(x), seed)
    return untuned(ds.batch(batch_size).prefetch(tf.data.AUTOTUNE))


@dataclasses.dataclass
class Prepared:
    """`fine_tune`'s data, checked and converted once: what every runner trains on.

    Args:
        train, val: batched `(images, targets)` datasets (val may be None); train reshuffles
            each epoch with `seed` (see `shuffled`).
        train_arrays, val_arrays: the `(images, targets)` arrays behind them when the data
            came as arrays, else None (a `tf.data.Dataset` was given).
        batch_size, seed: as given to `fine_tune`.
        order: row indices of `train_arrays` in `train`'s shuffle (`shuffled` with the same
            seed), None without arrays. One object for the whole run: iterated again, it
            draws the next epoch's permutation, so a runner that gathers rows by index sees
            the same batches as `train`, phase after phase.
    """

    train: tf.data.Dataset
    val: tf.data.Dataset | None
    train_arrays: tuple[np.ndarray, np.ndarray] | None
    val_arrays: tuple[np.ndarray, np.ndarray] | None
    batch_size: int
    seed: int
    order: tf.data.Dataset | None = None


def prepare(train, val, model: keras.Model, task: str, *, batch_size: int, seed: int) -> Prepared:
    """Check and convert `fine_tune`'s `train`/`val` once, before any training.

    Args:
        train, val: `(images, labels)` arrays or batched `tf.data.Dataset`s (val may be None).
        model: the model to train (its input shape and outputs are checked against the data).
        task: "multiclass", "binary", "multilabel" or "regression" (`infer_task`).
        batch_size, seed: the batch size of array data, and the seed of its shuffle.

    Example:

    >>> import numpy as np, keras
    >>> from kerasft.training.inputs import prepare
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, "softmax")])
    >>> data = prepare((np.zeros((10, 4)), np.arange(10) % 3), None, model, "multiclass",
    ...                batch_size=4, seed=0)
    >>> data.train_arrays[1].shape
    (10, 3)
    """
    arrays = {}
    for what, given in (("train", train), ("validation", val)):
        if given is not None and not isinstance(given, tf.data.Dataset):
            arrays[what] = to_arrays(given, model, task, what)
    if "train" in arrays:
        train_ds = _arrays_dataset(*arrays["train"], batch_size, True, seed)
    else:
        train_ds = _checked_dataset(train, model, task, "train")
    if val is None:
        val_ds = None
    elif "validation" in arrays:
        val_ds = _arrays_dataset(*arrays["validation"], batch_size, False, seed)
    else:
        val_ds = _checked_dataset(val, model, task, "validation")
    order = None
    if "train" in arrays:
        n = len(arrays["train"][0])
        order = shuffled(tf.data.Dataset.range(n), n, seed)
    return Prepared(
        train_ds, val_ds, arrays.get("train"), arrays.get("validation"), batch_size, seed, order
    )
