"""Optimizer and model state: snapshots to roll back to, and slots for newly trainable weights."""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import keras
import numpy as np

from kerasft import compat
from kerasft.optimizers._inner import inner_optimizer


class TrainingState:
    """A copy of a model's weights and its optimizer's variables, to `restore()` later.

    Values are kept per variable object, so a snapshot stays right when layers are frozen or
    unfrozen in between (which reorders `model.trainable_weights`).

    Args:
        pairs: `(variable, saved value)` pairs; build them with `TrainingState.capture(model)`.

    Example:

        state = TrainingState.capture(model)
        model.fit(x, y, epochs=1)        # try something
        state.restore()                  # weights and Adam moments are back
    """

    def __init__(self, pairs: list[tuple[keras.Variable, np.ndarray]]):
        self._pairs = pairs

    @classmethod
    def capture(cls, model: keras.Model, include_optimizer: bool = True) -> TrainingState:
        """Copy the values now. An unbuilt optimizer of a built model is built first (as Keras
        would at the first step), so its slots are part of the snapshot."""
        variables = list(model.weights)
        optimizer = getattr(model, "optimizer", None)
        if include_optimizer and optimizer is not None:
            if not inner_optimizer(optimizer).built and model.built:
                optimizer.build(model.trainable_variables)
            variables += list(optimizer.variables)
        return cls([(v, keras.ops.convert_to_numpy(v.value).copy()) for v in variables])

    def restore(self) -> None:
        for variable, value in self._pairs:
            variable.assign(value)

    def is_finite(self) -> bool:
        return all(
            np.all(np.isfinite(value))
            for _, value in self._pairs
            if np.issubdtype(value.dtype, np.floating)
        )


def add_trainable_variables(
    optimizer: keras.optimizers.Optimizer, variables: Iterable[keras.Variable]
) -> list[keras.Variable]:
    """Give `optimizer` slots (momentum, Adam moments, ...) for `variables` it does not know yet.

    Keras 3 optimizers create their slots once, for the variables trainable when they are built,
    and refuse unknown variables afterwards. This rebuilds the slots for the union and copies the
    old slots' values back, so the state of already-trained weights (and `iterations`) is kept.
    Returns the variables that were added. After calling it during `fit`, also call
    `model.make_train_function(force=True)`.

    Args:
        optimizer: a built Keras optimizer.
        variables: the variables it should train, old and new.

    Example:

        layer.trainable = True
        add_trainable_variables(model.optimizer, model.trainable_variables)
        model.make_train_function(force=True)
    """
    optimizer = inner_optimizer(optimizer)
    variables = list(variables)
    if not optimizer.built:
        optimizer.build(variables)
        return variables
    built_for = compat.optimizer_built_variables(optimizer)
    known = {compat.optimizer_variable_key(optimizer, v) for v in built_for}
    new = [v for v in variables if compat.optimizer_variable_key(optimizer, v) not in known]
    if not new:
        return []
    saved = {}
    for v in compat.optimizer_slots(optimizer):
        saved.setdefault(v.path, keras.ops.convert_to_numpy(v.value).copy())
    compat.rebuild_optimizer(optimizer, built_for + new)
    for v in compat.optimizer_slots(optimizer):
        value = saved.pop(v.path, None)
        if value is not None and tuple(value.shape) == tuple(v.shape):
            v.assign(value)
    if saved:
        warnings.warn(
            f"{len(saved)} optimizer slot(s) could not be matched after adding {len(new)} "
            "variable(s); they start from zero.",
            stacklevel=2,
        )
    return new
