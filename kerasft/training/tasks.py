"""What a model predicts (its task), read from its output and loss, and the default loss for it.

`infer_task` is the one answer kerasft gives everywhere: `kft.fine_tune` and `kft.compile`
pick targets, loss and metrics with it, `kft.evaluate`, `kft.ensemble` and `kft.stack` read
probabilities with it, `warm_start` rebuilds heads with it.
"""

from __future__ import annotations

import keras

from kerasft import compat
from kerasft.errors import KerasftError

TASK_NAMES = ("multiclass", "binary", "multilabel", "regression")

# Losses that read a linear output as class scores (logits): the task they train, with
# "binary" meaning one unit (several units with a binary loss are multilabel).
_CLASSIFICATION_LOSSES = {
    "categoricalcrossentropy": "multiclass",
    "sparsecategoricalcrossentropy": "multiclass",
    "categoricalfocalcrossentropy": "multiclass",
    "categoricalhinge": "multiclass",
    "binarycrossentropy": "binary",
    "bce": "binary",
    "binaryfocalcrossentropy": "binary",
    "hinge": "binary",
    "squaredhinge": "binary",
}


def output_activation(model: keras.Model) -> str | None:
    """Name of the activation that produces the model's output, following merges and nesting.

    A `Softmax` layer counts as "softmax"; averages, sums, rescalings, dropout and identity
    layers (ensembles) pass their input's activation through; None when undecidable.

    Args:
        model: a functional or Sequential Keras model with one output.

    Example:

    >>> import keras
    >>> from kerasft.training.tasks import output_activation
    >>> inputs = keras.Input((4,))
    >>> probs = keras.layers.Dense(3, activation="softmax")(inputs)
    >>> output_activation(keras.Model(inputs, keras.layers.Dropout(0.1)(probs)))
    'softmax'
    """
    tensor = model.outputs[0]
    for _ in range(50):
        history = compat.tensor_history(tensor)
        if not history:
            return None
        layer = history[0]
        if isinstance(layer, keras.layers.Softmax):
            return "softmax"
        activation = getattr(layer, "activation", None)
        name = getattr(activation, "__name__", None) if activation is not None else None
        if name and name != "linear":
            return name
        if isinstance(layer, keras.Model) and getattr(layer, "outputs", None):
            return output_activation(layer)
        # Averages, sums and rescalings of probabilities (ensembles) keep their kind.
        passthrough = (
            keras.layers.Average,
            keras.layers.Add,
            keras.layers.Rescaling,
            keras.layers.Dropout,
            keras.layers.Identity,
        )
        if isinstance(layer, passthrough) and compat.inbound_nodes(layer):
            tensor = compat.inbound_nodes(layer)[history[1]].input_tensors[0]
            continue
        return name
    return None


def _loss_key(loss) -> str | None:
    """The compiled loss as a lowercase name without underscores, e.g. "binarycrossentropy"."""
    if isinstance(loss, dict) and len(loss) == 1:
        loss = next(iter(loss.values()))
    if isinstance(loss, (list, tuple)) and len(loss) == 1:
        loss = loss[0]
    if isinstance(loss, str):
        name = loss
    elif isinstance(loss, keras.losses.Loss):
        # The class, not `loss.name`: a user may name an instance anything.
        name = type(loss).__name__
    else:
        name = getattr(loss, "__name__", None)
    return name.lower().replace("_", "") if name else None


def infer_task(model: keras.Model) -> str:
    """The model's task: "multiclass", "binary", "multilabel" or "regression".

    Read from the activation that produces the output (see `output_activation`): softmax is
    multiclass; sigmoid is binary with one unit, multilabel with several. A linear output is
    what the compiled loss trains: a cross-entropy, focal or hinge loss makes it a classifier
    on logits (binary with one unit), any other loss, or none (an uncompiled model), makes it
    regression. So a single linear unit is regression unless its loss says binary: kerasft
    builds binary heads with a sigmoid (`kft.build(..., task="binary")`) and a linear unit
    only for `task="regression"`, whose default loss is the mean squared error.

    Args:
        model: a Keras model with one output.

    Returns:
        One of `TASK_NAMES`.

    Raises:
        KerasftError: when the model has no single output.

    Example:

    >>> import keras
    >>> from kerasft.evaluation import infer_task
    >>> unit = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    >>> infer_task(unit)
    'regression'
    >>> unit.compile(loss=keras.losses.BinaryCrossentropy(from_logits=True))
    >>> infer_task(unit)
    'binary'
    >>> infer_task(keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, "sigmoid")]))
    'multilabel'
    """
    outputs = getattr(model, "outputs", None) or []
    if len(outputs) != 1:
        raise KerasftError(
            f"model={getattr(model, 'name', model)!r} has {len(outputs)} outputs; kerasft "
            "needs a built Keras model with exactly one output to read its task."
        )
    units = outputs[0].shape[-1]
    activation = output_activation(model)
    if activation == "softmax":
        return "multiclass"
    if activation == "sigmoid":
        return "binary" if units == 1 else "multilabel"
    task = _CLASSIFICATION_LOSSES.get(_loss_key(getattr(model, "loss", None)))
    if task == "binary" and units != 1:
        return "multilabel"
    return task or "regression"


def default_loss(
    task: str, label_smoothing: float = 0.1, *, from_logits: bool = False
) -> keras.losses.Loss:
    """Cross-entropy with label smoothing for classification, MSE for regression.

    Multiclass uses one-hot targets (Keras's sparse cross-entropy has no label smoothing);
    `kft.fine_tune` one-hot encodes integer labels itself.

    Args:
        task: one of `TASK_NAMES`.
        label_smoothing: the cross-entropy's label smoothing (classification only).
        from_logits: the model outputs logits (a linear output) rather than probabilities.

    Example:

    >>> from kerasft.training.tasks import default_loss
    >>> type(default_loss("binary")).__name__
    'BinaryCrossentropy'
    """
    if task == "multiclass":
        return keras.losses.CategoricalCrossentropy(
            from_logits=from_logits, label_smoothing=label_smoothing
        )
    if task in ("binary", "multilabel"):
        return keras.losses.BinaryCrossentropy(
            from_logits=from_logits, label_smoothing=label_smoothing
        )
    return keras.losses.MeanSquaredError()


def default_metrics(task: str, *, from_logits: bool = False) -> list:
    """Accuracy for classification, mean absolute error for regression.

    Args:
        task: one of `TASK_NAMES`.
        from_logits: the model outputs logits; binary accuracy then thresholds at 0.

    Example:

    >>> from kerasft.training.tasks import default_metrics
    >>> [m.name for m in default_metrics("regression")]
    ['mae']
    """
    if task == "multiclass":
        return [keras.metrics.CategoricalAccuracy(name="accuracy")]
    if task in ("binary", "multilabel"):
        return [
            keras.metrics.BinaryAccuracy(name="accuracy", threshold=0.0 if from_logits else 0.5)
        ]
    return [keras.metrics.MeanAbsoluteError(name="mae")]
