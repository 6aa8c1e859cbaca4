"""TensorBoard panels that Keras's own `TensorBoard` callback lacks, for watching a fine-tune."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np

from kerasft import compat
from kerasft.errors import KerasftError
from kerasft.evaluation import metrics, plots
from kerasft.training.phase import current_phase

# Augmentation layers whose class name does not start with "Random".
_AUGMENTATION_CLASSES = {"RandAugment", "AugMix", "MixUp", "CutMix"}


# A flat model with at most this many weighted layers is shown layer by layer.
_PER_LAYER_MAX = 16


def is_augmentation(layer: keras.layers.Layer) -> bool:
    """Whether `layer` is a random augmentation layer (active in training mode only)."""
    name = type(layer).__name__
    return name.startswith("Random") or name in _AUGMENTATION_CLASSES


def _is_preprocessing(layer: keras.layers.Layer) -> bool:
    return compat.is_keras_preprocessing_layer(layer)


def augmentation_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The random augmentation layers at the front of `model`, before its first weighted layer.

    Nested `Sequential`/`Pipeline` blocks of preprocessing layers (the usual `augmentation=` block)
    are searched too. Deterministic preprocessing (Rescaling, Normalization, Resizing) is skipped,
    so the result shows what augmentation does to the images as they come in.
    """
    found: list[keras.layers.Layer] = []

    def walk(layers) -> bool:  # True once the first non-preprocessing layer is reached
        for layer in layers:
            if isinstance(layer, keras.layers.InputLayer):
                continue
            if is_augmentation(layer):
                found.append(layer)
            elif isinstance(layer, (keras.Sequential, keras.layers.Pipeline)):
                if walk(layer.layers):
                    return True
            elif not _is_preprocessing(layer):
                return True
        return False

    walk(model.layers)
    return found


def _find_backbone(model: keras.Model) -> keras.Model:
    import kerasft

    get_backbone = getattr(kerasft, "get_backbone", None)
    if get_backbone is not None:
        try:
            return get_backbone(model)
        except Exception:  # a hand-made model: fall back to the heuristic below
            pass
    nested = [layer for layer in model.layers if isinstance(layer, keras.Model) and layer.weights]
    return max(nested, key=lambda layer: len(layer.weights)) if nested else model


def weight_blocks(model: keras.Model) -> dict[str, list[keras.layers.Layer]]:
    """The model's weighted layers grouped into named blocks, bottom to top.

    A backbone (the nested model of a `kft.build` model, or a large flat model such as a bare
    `keras.applications` network) is split by `kerasft.backbones.block_map` (MobileNet's `block_1`
    ...), and every other top-level weighted layer (the head) is a block of its own. A small flat
    model has one block per weighted layer, named after the layer.
    """
    backbone = _find_backbone(model)
    per_layer = {layer.name: [layer] for layer in backbone.layers if _learned_weights(layer)}
    blocks = per_layer
    if backbone is not model or len(per_layer) > _PER_LAYER_MAX:
        try:
            from kerasft.backbones.blocks import block_map

            blocks = {name: list(layers) for name, layers in block_map(backbone).items()}
        except Exception:  # the block map is a refinement; per-layer blocks still tell the story
            blocks = per_layer
    if backbone is not model:
        for layer in model.layers:
            if layer is not backbone and _learned_weights(layer):
                blocks.setdefault(layer.name, [layer])
    return {
        name: layers
        for name, layers in blocks.items()
        if any(_learned_weights(lay) for lay in layers)
    }


def _learned_weights(layer: keras.layers.Layer) -> list:
    """A layer's learned weights: not BatchNorm statistics nor random-seed state."""
    stats = {id(getattr(layer, a, None)) for a in ("moving_mean", "moving_variance")}
    return [
        w
        for w in layer.weights
        if id(w) not in stats and "float" in str(keras.backend.standardize_dtype(w.dtype))
    ]


def _to_float(value: Any) -> float:
    return float(np.asarray(keras.ops.convert_to_numpy(value)))


def _first_batch(data: Any, limit: int | None = None) -> tuple:
    """(x, y) of the first batch of an (x, y) tuple or a batched tf.data.Dataset."""
    import tensorflow as tf

    if isinstance(data, tf.data.Dataset):
        element = next(iter(data))
        if not isinstance(element, tuple):
            element = (element,)
        batch = tuple(np.asarray(e) for e in element)
    else:
        batch = (
            tuple(np.asarray(e) for e in data)
            if isinstance(data, (tuple, list))
            else (np.asarray(data),)
        )
    return tuple(b[:limit] for b in batch) if limit else batch


def _batches(data: Any, batch_size: int = 256, max_batches: int | None = None):
    import tensorflow as tf

    if isinstance(data, tf.data.Dataset):
        for i, element in enumerate(data):
            if max_batches is not None and i >= max_batches:
                return
            yield element[0], element[1]
        return
    x, y = np.asarray(data[0]), np.asarray(data[1])
    for i, start in enumerate(range(0, len(x), batch_size)):
        if max_batches is not None and i >= max_batches:
            return
        yield x[start : start + batch_size], y[start : start + batch_size]


class TensorBoardExtras(keras.callbacks.Callback):
    """Writes learning rate, weight decay, per-block weight and gradient norms, trainable parameter
    counts, a confusion matrix and a grid of augmented samples to TensorBoard.

    Use it next to (not instead of) `keras.callbacks.TensorBoard`: it writes to its own run,
    `log_dir/extras` by default, so both show up side by side under one `tensorboard --logdir`.

    What is written (tag: when):

    - `learning_rate`, `weight_decay`: every `update_freq` training steps, read from the optimizer
      (the step counter runs on across `fit` calls, so both fine-tuning phases form one curve).
    - `weight_norm/<block>`: each epoch; blocks come from `kerasft.backbones.block_map` for the
      backbone plus one per head layer. `grad_norm/<block>` and `grad_norm/global`: each epoch,
      from one held batch (`grad_data`, else the first batch of `validation_data`), computed in
      inference mode so the probe changes no BatchNorm statistics; only trainable blocks appear.
    - `trainable_params` (and `phase` during `kft.fine_tune`), plus a `trainable_blocks` text:
      whenever the trainable parameter count changes (freeze/unfreeze), at that epoch.
    - `confusion_matrix` image: each epoch, on `validation_data` (class-label tasks only).
    - `samples` and `augmented_samples` images: once, at the start of training: `sample_images`
      before and after the model's Random* augmentation layers (or `augment`) in training mode.

    Args:
        log_dir: the run directory (the one given to `keras.callbacks.TensorBoard`).
        validation_data: `(x, y)` arrays or a batched `tf.data.Dataset` of `(x, y)`, for the
            confusion matrix and the gradient batch.
        class_names: names of the classes, for the confusion matrix axes.
        sample_images: a batch of training images `(N, h, w[, c])` (or a dataset whose first batch
            is used) for the augmentation grid; up to `max_samples` are shown.
        augment: a callable or a list of layers applied instead of the model's own augmentation.
        grad_data: an `(x, y)` batch for the gradient norms (default: from `validation_data`).
        update_freq: training steps between `learning_rate` points, or "epoch".
        run_name: subdirectory of `log_dir` written to; None writes into `log_dir` itself.
        max_samples: most images in the augmentation grid.
        max_val_batches: most validation batches used for the confusion matrix (None: all).

    Example:

    >>> import numpy as np, keras, tempfile, kerasft as kft
    >>> x, y = np.random.rand(32, 8, 8, 1), np.random.randint(0, 3, 32)
    >>> model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.RandomFlip(),
    ...     keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")])
    >>> model.compile("adam", "sparse_categorical_crossentropy")
    >>> extras = kft.callbacks.TensorBoardExtras(tempfile.mkdtemp(), validation_data=(x, y),
    ...     sample_images=x[:8])
    >>> _ = model.fit(x, y, epochs=1, verbose=0, callbacks=[extras])
    >>> int(extras.confusion_matrix.sum())
    32
    """

    def __init__(
        self,
        log_dir: str | os.PathLike,
        validation_data: Any = None,
        class_names: Sequence[str] | None = None,
        sample_images: Any = None,
        augment: Callable | Sequence[keras.layers.Layer] | None = None,
        grad_data: tuple | None = None,
        update_freq: int | str = 1,
        run_name: str | None = "extras",
        max_samples: int = 16,
        max_val_batches: int | None = None,
    ):
        super().__init__()
        if not isinstance(log_dir, (str, os.PathLike)):
            raise KerasftError(
                f"TensorBoardExtras: log_dir must be a directory path, got {log_dir!r}."
            )
        if not (update_freq == "epoch" or (isinstance(update_freq, int) and update_freq >= 1)):
            raise KerasftError(
                f"TensorBoardExtras: update_freq must be a number of steps >= 1 or 'epoch', "
                f"got {update_freq!r}."
            )
        for label, data in (("validation_data", validation_data), ("grad_data", grad_data)):
            if data is not None and not _is_xy(data):
                raise KerasftError(
                    f"TensorBoardExtras: {label} must be an (x, y) tuple or a tf.data.Dataset of "
                    f"(x, y) batches, got {type(data).__name__}."
                )
        shape = getattr(sample_images, "shape", None)
        if shape is not None and len(shape) not in (3, 4):
            raise KerasftError(
                f"TensorBoardExtras: sample_images must be a batch of images (N, h, w[, c]), "
                f"got shape {tuple(shape)}."
            )
        if augment is not None and not (callable(augment) or isinstance(augment, (list, tuple))):
            raise KerasftError(
                f"TensorBoardExtras: augment must be a callable or a list of layers, got {augment!r}."
            )
        self.log_dir = os.fspath(log_dir)
        self.validation_data = validation_data
        self.class_names = list(class_names) if class_names is not None else None
        self.sample_images = sample_images
        self.augment = augment
        self.grad_data = grad_data
        self.update_freq = update_freq
        self.run_name = run_name
        self.max_samples = max_samples
        self.max_val_batches = max_val_batches
        #: The latest confusion matrix (rows: true class), or None before the first epoch end.
        self.confusion_matrix: np.ndarray | None = None
        self._writer = None
        self._step = 0
        self._trainable_count: int | None = None
        self._samples_written = False
        self._grad_batch: tuple | None = None
        self._grad_disabled = False
        self._cm_disabled = False
        self._blocks: dict[str, list] = {}

    @property
    def writer_dir(self) -> str:
        """The directory the event file goes to."""
        return os.path.join(self.log_dir, self.run_name) if self.run_name else self.log_dir

    def get_config(self) -> dict[str, Any]:
        return {
            "log_dir": self.log_dir,
            "class_names": self.class_names,
            "update_freq": self.update_freq,
            "run_name": self.run_name,
            "max_samples": self.max_samples,
            "max_val_batches": self.max_val_batches,
        }

    def close(self) -> None:
        """Flush and close the event file (training again afterwards opens a new one)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    # Keras callback hooks ----------------------------------------------------------------------

    def on_train_begin(self, logs=None):
        import tensorflow as tf

        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.writer_dir)
        self._check_class_names()
        self._blocks = weight_blocks(self.model)
        source = self.grad_data if self.grad_data is not None else self.validation_data
        if source is not None and self._grad_batch is None:
            self._grad_batch = _first_batch(source, limit=64)
        if self.sample_images is not None and not self._samples_written:
            self._write_samples()
            self._samples_written = True

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._check_trainable(epoch)

    def on_train_batch_begin(self, batch, logs=None):
        # A callback placed after this one (e.g. gradual unfreezing) may change what is trainable
        # at epoch begin; look again at the first step so the change is dated to this epoch.
        if batch == 0:
            self._check_trainable(getattr(self, "_epoch", 0))

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        if self.update_freq != "epoch" and self._step % self.update_freq == 0:
            self._write_optimizer_scalars(self._step)

    def on_epoch_end(self, epoch, logs=None):
        import tensorflow as tf

        if self.update_freq == "epoch":
            self._write_optimizer_scalars(self._step)
        with self._writer.as_default():
            for name, layers in self._blocks.items():
                weights = [w for layer in layers for w in _learned_weights(layer)]
                if weights:
                    norm = np.sqrt(sum(float(np.sum(np.square(w.numpy()))) for w in weights))
                    tf.summary.scalar(f"weight_norm/{name}", norm, step=epoch)
        if self._grad_batch is not None and not self._grad_disabled:
            self._write_gradient_norms(epoch)
        if self.validation_data is not None and not self._cm_disabled:
            self._write_confusion_matrix(epoch)
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.flush()

    # Pieces ------------------------------------------------------------------------------------

    def _check_class_names(self) -> None:
        try:
            width = self.model.outputs[0].shape[-1]
        except (AttributeError, IndexError, TypeError, ValueError):
            return  # a subclassed model: checked on the first confusion matrix instead
        num_classes = 2 if width == 1 else width
        if self.class_names is not None and num_classes and len(self.class_names) != num_classes:
            raise KerasftError(
                f"TensorBoardExtras: class_names has {len(self.class_names)} names but the model "
                f"predicts {num_classes} classes; pass one name per class."
            )

    def _write_optimizer_scalars(self, step: int) -> None:
        import tensorflow as tf

        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None:
            return
        optimizer = getattr(optimizer, "inner_optimizer", optimizer)  # LossScaleOptimizer
        with self._writer.as_default():
            tf.summary.scalar("learning_rate", _to_float(optimizer.learning_rate), step=step)
            weight_decay = getattr(optimizer, "weight_decay", None)
            if weight_decay is not None:
                tf.summary.scalar("weight_decay", _to_float(weight_decay), step=step)

    def _check_trainable(self, epoch: int) -> None:
        import tensorflow as tf

        count = int(sum(np.prod(w.shape) for w in self.model.trainable_weights))
        if count == self._trainable_count:
            return
        self._trainable_count = count
        trainable = [
            name
            for name, layers in self._blocks.items()
            if any(layer.trainable and layer.trainable_weights for layer in layers)
        ]
        with self._writer.as_default():
            tf.summary.scalar("trainable_params", count, step=epoch)
            phase = current_phase(self.model)
            if phase is not None:
                tf.summary.scalar("phase", phase.number, step=epoch)
            tf.summary.text(
                "trainable_blocks",
                f"{count:,} trainable parameters in: {', '.join(trainable) or 'nothing'}",
                step=epoch,
            )

    def _write_gradient_norms(self, epoch: int) -> None:
        import tensorflow as tf

        variables = list(self.model.trainable_variables)
        if not variables:
            return
        x, y = self._grad_batch[0], self._grad_batch[1]
        try:
            grads = self._gradients(x, y, variables)
        except Exception as err:
            one_hot = _as_one_hot(y, self.model)
            try:
                if one_hot is None:
                    raise err
                # Integer labels for a model trained on one-hot ones (as `kft.fine_tune` does).
                grads = self._gradients(x, one_hot, variables)
                self._grad_batch = (x, one_hot)
            except Exception as err:  # e.g. a model compiled without a loss; warn, keep training
                warnings.warn(f"TensorBoardExtras: gradient norms are skipped: {err}", stacklevel=2)
                self._grad_disabled = True
                return
        squared = {
            id(v): float(tf.reduce_sum(tf.square(g)))
            for v, g in zip(variables, grads)
            if g is not None
        }
        with self._writer.as_default():
            for name, layers in self._blocks.items():
                # By variable, not layer.trainable_weights: a BatchNorm kept in inference mode
                # is a frozen layer whose gamma/beta train (kft.unfreeze with train_bn).
                ids = [id(w) for layer in layers for w in layer.weights]
                found = [squared[i] for i in ids if i in squared]
                if found:
                    tf.summary.scalar(f"grad_norm/{name}", np.sqrt(sum(found)), step=epoch)
            tf.summary.scalar("grad_norm/global", np.sqrt(sum(squared.values())), step=epoch)

    def _gradients(self, x, y, variables) -> list:
        import tensorflow as tf

        with tf.GradientTape() as tape:
            # Inference mode: the probe must not move BatchNorm statistics or draw dropout.
            y_pred = self.model(x, training=False)
            loss = self.model.compute_loss(x=x, y=y, y_pred=y_pred)
        return tape.gradient(loss, variables)

    def _write_confusion_matrix(self, epoch: int) -> None:
        import tensorflow as tf

        trues, preds = [], []
        for x, y in _batches(self.validation_data, max_batches=self.max_val_batches):
            y_pred = self.model(x, training=False)
            if isinstance(y_pred, (list, tuple, dict)):
                return self._skip_cm("the model has several outputs")
            trues.append(np.asarray(y))
            preds.append(keras.ops.convert_to_numpy(y_pred))
        y_true, y_pred = np.concatenate(trues), np.concatenate(preds)
        labels = _class_labels(y_true, y_pred)
        if isinstance(labels, str):
            return self._skip_cm(labels)
        true_labels, pred_labels, num_classes = labels
        if self.class_names is not None and len(self.class_names) != num_classes:
            raise KerasftError(
                f"TensorBoardExtras: class_names has {len(self.class_names)} names but the model "
                f"predicts {num_classes} classes; pass one name per class."
            )
        self.confusion_matrix = metrics.confusion_matrix(true_labels, pred_labels, num_classes)
        png = plots.confusion_matrix_png(self.confusion_matrix, self.class_names)
        with self._writer.as_default():
            tf.summary.image("confusion_matrix", _png_to_array(png)[None], step=epoch)

    def _skip_cm(self, why: str) -> None:
        warnings.warn(f"TensorBoardExtras: no confusion matrix: {why}.", stacklevel=3)
        self._cm_disabled = True

    def _write_samples(self) -> None:
        import tensorflow as tf

        x = _first_batch(self.sample_images, limit=self.max_samples)[0]
        if x.ndim not in (3, 4):
            raise KerasftError(
                f"TensorBoardExtras: sample_images must be a batch of images (N, h, w[, c]), "
                f"got shape {x.shape}."
            )
        augmented = keras.ops.convert_to_numpy(self._augment(x))
        with self._writer.as_default():
            tf.summary.image("samples", plots.image_grid(x)[None], step=0)
            tf.summary.image("augmented_samples", plots.image_grid(augmented)[None], step=0)

    def _augment(self, x: np.ndarray):
        if self.augment is None:
            layers = augmentation_layers(self.model)
            if not layers:
                warnings.warn(
                    "TensorBoardExtras: the model has no Random* augmentation layers at its input; "
                    "augmented_samples shows the images unchanged (pass augment= to choose).",
                    stacklevel=3,
                )
        elif isinstance(self.augment, (list, tuple)):
            layers = list(self.augment)
        elif isinstance(self.augment, keras.layers.Layer):
            layers = [self.augment]
        else:
            return self.augment(x)
        out = keras.ops.convert_to_tensor(x.astype("float32"))
        for layer in layers:
            out = layer(out, training=True)
        return out


def _as_one_hot(y: np.ndarray, model: keras.Model) -> np.ndarray | None:
    """Integer class labels as one-hot rows for a softmax-style output, else None."""
    y = np.asarray(y)
    try:
        width = model.outputs[0].shape[-1]
    except (AttributeError, IndexError, TypeError, ValueError):
        return None
    flat = y.reshape(len(y), -1)
    if not width or width < 2 or flat.shape[1] != 1 or not np.allclose(flat, np.round(flat)):
        return None
    return np.eye(width, dtype="float32")[flat[:, 0].astype(int)]


def _png_to_array(png: bytes) -> np.ndarray:
    """A `(H, W, 3)` uint8 array from PNG bytes, as `tf.summary.image` takes it."""
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def _is_xy(data: Any) -> bool:
    import tensorflow as tf

    return isinstance(data, tf.data.Dataset) or (isinstance(data, (tuple, list)) and len(data) >= 2)


def _class_labels(
    y_true: np.ndarray, y_pred: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int] | str:
    """Integer true/predicted labels and the class count, or why the task has no confusion matrix."""
    width = y_pred.shape[-1] if y_pred.ndim > 1 else 1
    if y_true.ndim > 1 and y_true.shape[-1] > 1:
        if not np.allclose(y_true.sum(axis=-1), 1):
            return "the labels are multi-label"
        y_true = y_true.argmax(axis=-1)
    y_true = y_true.reshape(len(y_true), -1)[:, 0] if y_true.ndim > 1 else y_true
    if not np.allclose(y_true, np.round(y_true)):
        return "the labels are not class labels (regression?)"
    if width > 1:
        return y_true.astype(int), y_pred.reshape(len(y_pred), -1).argmax(axis=-1), width
    scores = y_pred.reshape(-1)
    # A sigmoid output is a probability; anything outside [0, 1] must be a logit.
    threshold = 0.5 if scores.min() >= 0 and scores.max() <= 1 else 0.0
    return y_true.astype(int), (scores > threshold).astype(int), 2
