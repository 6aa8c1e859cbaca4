"""Turn an optimizer's float hyperparameter (Adam's `beta_1`, SGD's `momentum`) into a variable.

Keras 3 optimizers read `beta_1`/`momentum` as Python floats, which the traced train function
freezes as constants; a callback that changes them per batch (one-cycle momentum cycling) needs
a variable the graph reads at run time. `ScheduledHyperparameter` is that variable. Comparisons
with plain numbers (`momentum != 0` in SGD, `momentum > 0` in RMSprop) stay Python booleans
computed from the value it started with, because the optimizers use them to decide, at trace
time, which slots exist.

Example:

    variable = schedule_hyperparameter(model.optimizer, "beta_1")
    model.make_train_function(force=True)
    variable.assign(0.9)       # read by the next train step
    unschedule_hyperparameter(model.optimizer, "beta_1")
"""

from __future__ import annotations

import numbers

import keras

from kerasft.optimizers._inner import inner_optimizer

_ORIGINALS = "_kerasft_scheduled_originals"

_Variable = type(keras.Variable(0.0))


class ScheduledHyperparameter(_Variable):
    """A scalar variable whose comparisons with numbers use its starting value.

    Args:
        value: the starting value.
        name: the variable's name.
    """

    def __init__(self, value: float, name: str = "scheduled_hyperparameter"):
        super().__init__(float(value), trainable=False, dtype="float32", name=name)
        self._static_value = float(value)

    def _compare(self, other, op, fallback):
        if isinstance(other, numbers.Number):
            return op(self._static_value, float(other))
        return fallback(self, other)

    def __ne__(self, other):
        return self._compare(other, float.__ne__, _Variable.__ne__)

    def __gt__(self, other):
        return self._compare(other, float.__gt__, _Variable.__gt__)

    def __ge__(self, other):
        return self._compare(other, float.__ge__, _Variable.__ge__)

    def __lt__(self, other):
        return self._compare(other, float.__lt__, _Variable.__lt__)

    def __le__(self, other):
        return self._compare(other, float.__le__, _Variable.__le__)

    __hash__ = _Variable.__hash__


def schedule_hyperparameter(
    optimizer: keras.optimizers.Optimizer, name: str
) -> ScheduledHyperparameter:
    """Replace `optimizer.<name>` (a float) with a `ScheduledHyperparameter`; returns it.

    Args:
        optimizer: the optimizer (a `LossScaleOptimizer`'s inner one is used).
        name: the hyperparameter attribute, e.g. "beta_1" or "momentum".
    """
    optimizer = inner_optimizer(optimizer)
    current = getattr(optimizer, name)
    if isinstance(current, ScheduledHyperparameter):
        return current
    originals = optimizer.__dict__.get(_ORIGINALS)
    if originals is None:
        originals = {}
        object.__setattr__(optimizer, _ORIGINALS, originals)
    originals[name] = current
    variable = ScheduledHyperparameter(float(current), name=f"{optimizer.name}_{name}")
    # object.__setattr__: the variable must not become one of the optimizer's saved variables.
    object.__setattr__(optimizer, name, variable)
    return variable


def unschedule_hyperparameter(optimizer: keras.optimizers.Optimizer, name: str) -> None:
    """Put the original float back (so `get_config` and saving see a number again).

    Args:
        optimizer: the optimizer `schedule_hyperparameter` was called on.
        name: the hyperparameter attribute it replaced.
    """
    optimizer = inner_optimizer(optimizer)
    originals = optimizer.__dict__.get(_ORIGINALS, {})
    if name in originals:
        object.__setattr__(optimizer, name, originals.pop(name))
