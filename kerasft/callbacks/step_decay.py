"""Step decay: multiply the learning rate by a factor every k epochs, or at given epochs."""

from __future__ import annotations

from collections.abc import Sequence

from kerasft.callbacks.lr_schedule_callback import FitPlan, LRScheduleCallback
from kerasft.errors import KerasftError
from kerasft.schedules.step_decay import StepDecaySchedule


class StepDecay(LRScheduleCallback):
    """`initial_lr * factor ** n`, n = the decays passed: one every `every` epochs, or one at
    each epoch of `at` (the rate changes at the first batch of that epoch). Set per batch,
    logged as "learning_rate". Epochs are Keras's 0-based epoch indices, so `initial_epoch`
    continues the schedule. The same schedule in steps: `kerasft.schedules.StepDecaySchedule`.

    Args:
        initial_lr: the starting rate; by default the optimizer's rate.
        factor: multiplier at each decay.
        every: decay every this many epochs (fractions allowed).
        at: or decay at these epochs.
        steps_per_epoch: only needed for datasets of unknown length.
        verbose: 1 prints the rate at each epoch start.

    Example:

    >>> import keras, numpy as np
    >>> import kerasft as kft
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    >>> model.compile(keras.optimizers.SGD(0.1), "mse")
    >>> history = model.fit(np.zeros((16, 4)), np.zeros((16, 1)), batch_size=8, epochs=4,
    ...                     callbacks=[kft.callbacks.StepDecay(factor=0.5, at=[1, 3])], verbose=0)
    >>> [round(lr, 3) for lr in history.history["learning_rate"]]
    [0.1, 0.05, 0.05, 0.025]
    """

    def __init__(
        self,
        initial_lr: float | None = None,
        factor: float = 0.1,
        every: float | None = None,
        at: Sequence[float] | None = None,
        steps_per_epoch: int | None = None,
        verbose: int = 0,
    ):
        super().__init__(steps_per_epoch=steps_per_epoch, verbose=verbose)
        if (every is None) == (at is None):
            raise KerasftError(
                "StepDecay takes exactly one of every=K (decay every K epochs) or at=[epochs]; "
                f"got every={every!r}, at={at!r}."
            )
        if every is not None and not every > 0:
            raise KerasftError(f"every={every!r} must be a positive number of epochs.")
        if at is not None:
            at = [float(e) for e in at]
            if not at or sorted(at) != at or at[0] < 0:
                raise KerasftError(f"at={at!r} must be a non-empty ascending list of epochs >= 0.")
        if not factor > 0:
            raise KerasftError(f"factor={factor!r} must be positive.")
        self.set_initial_lr(initial_lr)
        self.factor = factor
        self.every = every
        self.at = at

    def make_schedule(self, plan: FitPlan):
        if self.every is not None:
            return StepDecaySchedule(
                plan.base_lr, self.factor, step_size=plan.steps(self.every, "every")
            )
        plan.steps(1, "at")  # checks steps per epoch are known
        boundaries = [round(e * plan.steps_per_epoch) for e in self.at]
        return StepDecaySchedule(plan.base_lr, self.factor, boundaries=boundaries)
