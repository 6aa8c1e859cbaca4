"""Linear learning-rate warm-up in front of any other schedule."""

from __future__ import annotations

import keras
from keras import ops

from kerasft.errors import KerasftError

LearningRateSchedule = keras.optimizers.schedules.LearningRateSchedule


# Saved models name it "kerasft>Warmup", its name before the callback of that name took it.
@keras.saving.register_keras_serializable(package="kerasft", name="Warmup")
class WarmupSchedule(LearningRateSchedule):
    """Rise linearly from `initial_learning_rate` to the value of `schedule` at its step 0 over
    `warmup_steps`, then follow `schedule`, shifted so that its step 0 is the first step after
    the warm-up (as the warm-up of Keras's `CosineDecay`).

    Args:
        schedule: any `LearningRateSchedule`, or a number for a constant rate after warm-up.
        warmup_steps: length of the warm-up in optimizer steps.
        initial_learning_rate: the rate at step 0.
        name: the schedule's name scope.

    Example:

    >>> import keras, kerasft as kft
    >>> decay = keras.optimizers.schedules.ExponentialDecay(1e-3, 100, 0.5)
    >>> schedule = kft.schedules.WarmupSchedule(decay, warmup_steps=10)
    >>> [round(float(schedule(s)), 6) for s in (0, 5, 10, 110)]
    [0.0, 0.0005, 0.001, 0.0005]
    """

    def __init__(
        self,
        schedule: LearningRateSchedule | float,
        warmup_steps: int,
        initial_learning_rate: float = 0.0,
        name: str = "WarmupSchedule",
    ):
        if isinstance(schedule, dict):
            schedule = keras.optimizers.schedules.deserialize(schedule)
        if not isinstance(schedule, (LearningRateSchedule, int, float)):
            raise KerasftError(
                f"schedule={schedule!r} must be a keras LearningRateSchedule or a number."
            )
        if int(warmup_steps) < 1:
            raise KerasftError(f"warmup_steps={warmup_steps!r} must be a positive integer.")
        if initial_learning_rate < 0:
            raise KerasftError(f"initial_learning_rate={initial_learning_rate!r} must be >= 0.")
        self.schedule = schedule if isinstance(schedule, LearningRateSchedule) else float(schedule)
        self.warmup_steps = int(warmup_steps)
        self.initial_learning_rate = float(initial_learning_rate)
        self.name = name

    def _after(self, step):
        if isinstance(self.schedule, LearningRateSchedule):
            return ops.cast(self.schedule(step), "float32")
        return ops.cast(self.schedule, "float32")

    def __call__(self, step):
        with keras.name_scope(self.name):
            step = ops.cast(step, "float32")
            target = self._after(ops.cast(0, "float32"))
            fraction = ops.minimum(step / float(self.warmup_steps), 1.0)
            warm = self.initial_learning_rate + (target - self.initial_learning_rate) * fraction
            after = self._after(ops.maximum(step - float(self.warmup_steps), 0.0))
            return ops.where(step < float(self.warmup_steps), warm, after)

    def get_config(self):
        schedule = self.schedule
        if isinstance(schedule, LearningRateSchedule):
            schedule = keras.optimizers.schedules.serialize(schedule)
        return {
            "schedule": schedule,
            "warmup_steps": self.warmup_steps,
            "initial_learning_rate": self.initial_learning_rate,
            "name": self.name,
        }
