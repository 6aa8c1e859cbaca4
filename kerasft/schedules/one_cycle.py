"""The one-cycle learning-rate schedule (Smith 2018; fastai's `fit_one_cycle`)."""

from __future__ import annotations

import math

import keras
from keras import ops

from kerasft.errors import KerasftError


def one_cycle_value(step, total_steps: int, pct_start: float, start, peak, end):
    """Cosine from `start` to `peak` over the first `pct_start` of the steps, then to `end`.

    Works on Python numbers and on tensors (`step` may be a tensor); steps past the end stay
    at `end`.

    Args:
        step: the optimizer step (a number or a tensor).
        total_steps: length of the cycle in steps.
        pct_start: fraction of the cycle spent going from `start` to `peak`.
        start, peak, end: the values at step 0, at the peak and at the end of the cycle.
    """
    step = ops.cast(step, "float32")
    warm = float(pct_start) * float(total_steps)
    anneal = max(float(total_steps) - warm, 1.0)
    up = ops.clip(step / max(warm, 1e-12), 0.0, 1.0)
    down = ops.clip((step - warm) / anneal, 0.0, 1.0)

    def cos(a, b, pos):
        return b + (a - b) / 2.0 * (1.0 + ops.cos(math.pi * pos))

    return ops.where(step < warm, cos(start, peak, up), cos(peak, end, down))


# Saved models name it "kerasft>OneCycle", its name before the callback of that name took it.
@keras.saving.register_keras_serializable(package="kerasft", name="OneCycle")
class OneCycleSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """One cycle: cosine warm-up from `max_learning_rate / div_factor` to `max_learning_rate`
    over `pct_start` of the steps, then cosine annealing to `max_learning_rate /
    final_div_factor`, as fastai's `fit_one_cycle` (whose defaults these are).

    Args:
        max_learning_rate: the peak learning rate.
        total_steps: length of the cycle in optimizer steps.
        pct_start: fraction of the steps spent warming up.
        div_factor: the cycle starts at `max_learning_rate / div_factor`.
        final_div_factor: the cycle ends at `max_learning_rate / final_div_factor`.
        name: the schedule's name scope.

    Example:

    >>> import keras, kerasft as kft
    >>> schedule = kft.schedules.OneCycleSchedule(1e-2, total_steps=100)
    >>> optimizer = keras.optimizers.SGD(schedule)
    >>> round(float(schedule(25)), 6), round(float(schedule(100)), 9)
    (0.01, 1e-07)
    """

    def __init__(
        self,
        max_learning_rate: float,
        total_steps: int,
        pct_start: float = 0.25,
        div_factor: float = 25.0,
        final_div_factor: float = 1e5,
        name: str = "OneCycleSchedule",
    ):
        if not total_steps or int(total_steps) < 1:
            raise KerasftError(f"total_steps={total_steps!r} must be a positive integer.")
        if not 0.0 <= pct_start < 1.0:
            raise KerasftError(f"pct_start={pct_start!r} must be in [0, 1).")
        if not max_learning_rate > 0 or not div_factor > 0 or not final_div_factor > 0:
            raise KerasftError(
                "max_learning_rate, div_factor and final_div_factor must be positive (got "
                f"{max_learning_rate!r}, {div_factor!r}, {final_div_factor!r})."
            )
        self.max_learning_rate = float(max_learning_rate)
        self.total_steps = int(total_steps)
        self.pct_start = float(pct_start)
        self.div_factor = float(div_factor)
        self.final_div_factor = float(final_div_factor)
        self.name = name

    def __call__(self, step):
        with keras.name_scope(self.name):
            return one_cycle_value(
                step,
                self.total_steps,
                self.pct_start,
                self.max_learning_rate / self.div_factor,
                self.max_learning_rate,
                self.max_learning_rate / self.final_div_factor,
            )

    def get_config(self):
        return {
            "max_learning_rate": self.max_learning_rate,
            "total_steps": self.total_steps,
            "pct_start": self.pct_start,
            "div_factor": self.div_factor,
            "final_div_factor": self.final_div_factor,
            "name": self.name,
        }
