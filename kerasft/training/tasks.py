"""What a model predicts (its task), read from its output layer, and the default loss for it."""

from __future__ import annotations

import keras

TASK_NAMES = ("multiclass", "binary", "multilabel", "regression")


def infer_task(model: keras.Model) -> str:
    """ "multiclass" (softmax), "binary" (one sigmoid), "multilabel" or "regression" (linear)."""
    last = model.layers[-1]
    activation = getattr(getattr(last, "activation", None), "__name__", "linear")
    units = model.output_shape[-1]
    if activation == "softmax":
        return "multiclass"
    if activation == "sigmoid":
        return "binary" if units == 1 else "multilabel"
    return "regression"


def default_loss(task: str, label_smoothing: float = 0.1) -> keras.losses.Loss:
    """Cross-entropy with label smoothing for classification, MSE for regression.

    Multiclass uses one-hot targets (Keras's sparse cross-entropy has no label smoothing);
    `kft.fine_tune` one-hot encodes integer labels itself.
    """
    if task == "multiclass":
        return keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing)
    if task in ("binary", "multilabel"):
        return keras.losses.BinaryCrossentropy(label_smoothing=label_smoothing)
    return keras.losses.MeanSquaredError()


def default_metrics(task: str) -> list:
    if task == "multiclass":
        return [keras.metrics.CategoricalAccuracy(name="accuracy")]
    if task in ("binary", "multilabel"):
        return [keras.metrics.BinaryAccuracy(name="accuracy")]
    return [keras.metrics.MeanAbsoluteError(name="mae")]
