"""Step decay: multiply the learning rate by a factor every k steps or at given steps."""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import ops

from kerasft.errors import KerasftError


# Saved models name it "kerasft>StepDecay", its name before the callback of that name took it.
@keras.saving.register_keras_serializable(package="kerasft", name="StepDecay")
class StepDecaySchedule(keras.optimizers.schedules.LearningRateSchedule):
    """`initial_learning_rate * factor ** n`, where n counts the steps of decay passed so far:
    every `step_size` steps, or one per entry of `boundaries` reached.

    Args:
        initial_learning_rate: the rate before the first decay.
        factor: the multiplier applied at each decay (0.1 divides by ten).
        step_size: decay every this many optimizer steps.
        boundaries: or decay at these optimizer steps (the rate changes *at* each of them).
        name: the schedule's name scope.

    Example:

    >>> import kerasft as kft
    >>> every = kft.schedules.StepDecaySchedule(0.1, factor=0.5, step_size=10)
    >>> at = kft.schedules.StepDecaySchedule(0.1, factor=0.1, boundaries=[30, 80])
    >>> [round(float(every(s)), 6) for s in (0, 9, 10, 25)], round(float(at(30)), 6)
    ([0.1, 0.1, 0.05, 0.025], 0.01)
    """

    def __init__(
        self,
        initial_learning_rate: float,
        factor: float = 0.1,
        step_size: int | None = None,
        boundaries: Sequence[int] | None = None,
        name: str = "StepDecaySchedule",
    ):
        if (step_size is None) == (boundaries is None):
            raise KerasftError(
                "StepDecaySchedule takes exactly one of step_size (decay every k steps) or boundaries "
                f"(decay at these steps); got step_size={step_size!r}, boundaries={boundaries!r}."
            )
        if step_size is not None and int(step_size) < 1:
            raise KerasftError(f"step_size={step_size!r} must be a positive integer.")
        if boundaries is not None:
            boundaries = [int(b) for b in boundaries]
            if not boundaries or sorted(boundaries) != boundaries:
                raise KerasftError(f"boundaries={boundaries!r} must be a non-empty ascending list.")
        if not factor > 0:
            raise KerasftError(f"factor={factor!r} must be positive.")
        self.initial_learning_rate = float(initial_learning_rate)
        self.factor = float(factor)
        self.step_size = int(step_size) if step_size is not None else None
        self.boundaries = boundaries
        self.name = name

    def __call__(self, step):
        with keras.name_scope(self.name):
            step = ops.cast(step, "float32")
            if self.step_size is not None:
                decays = ops.floor(step / float(self.step_size))
            else:
                bounds = ops.convert_to_tensor(self.boundaries, "float32")
                decays = ops.sum(ops.cast(step >= bounds, "float32"))
            return self.initial_learning_rate * ops.power(self.factor, decays)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "factor": self.factor,
            "step_size": self.step_size,
            "boundaries": self.boundaries,
            "name": self.name,
        }
