"""Exponential learning-rate decay, set at every batch."""

from __future__ import annotations

import keras

from kerasft.callbacks.lr_schedule_callback import FitPlan, LRScheduleCallback
from kerasft.errors import KerasftError


class ExponentialDecay(LRScheduleCallback):
    """`initial_lr * decay_rate ** (step / decay_steps)` with `decay_steps` = `decay_epochs`
    epochs: the rate is multiplied by `decay_rate` every `decay_epochs`, smoothly (or in one
    jump per period with `staircase=True`). Keras's `ExponentialDecay` schedule, driven per
    batch and logged as "learning_rate".

    Args:
        initial_lr: the starting rate; by default the optimizer's rate.
        decay_rate: multiplier per `decay_epochs`.
        decay_epochs: the period, in epochs (fractions allowed).
        staircase: decay in steps rather than continuously.
        steps_per_epoch: only needed for datasets of unknown length.
        verbose: 1 prints the rate at each epoch start.

    Example:

    >>> import keras, numpy as np
    >>> import kerasft as kft
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    >>> model.compile(keras.optimizers.SGD(0.1), "mse")
    >>> decay = kft.callbacks.ExponentialDecay(decay_rate=0.5, decay_epochs=1, staircase=True)
    >>> history = model.fit(np.zeros((16, 4)), np.zeros((16, 1)), batch_size=8, epochs=3,
    ...                     callbacks=[decay], verbose=0)
    >>> [round(lr, 3) for lr in history.history["learning_rate"]]
    [0.1, 0.05, 0.025]
    """

    def __init__(
        self,
        initial_lr: float | None = None,
        decay_rate: float = 0.9,
        decay_epochs: float = 1.0,
        staircase: bool = False,
        steps_per_epoch: int | None = None,
        verbose: int = 0,
    ):
        super().__init__(steps_per_epoch=steps_per_epoch, verbose=verbose)
        if not decay_rate > 0:
            raise KerasftError(f"decay_rate={decay_rate!r} must be positive.")
        if not decay_epochs > 0:
            raise KerasftError(f"decay_epochs={decay_epochs!r} must be positive.")
        self.set_initial_lr(initial_lr)
        self.decay_rate = decay_rate
        self.decay_epochs = decay_epochs
        self.staircase = staircase

    def make_schedule(self, plan: FitPlan):
        return keras.optimizers.schedules.ExponentialDecay(
            plan.base_lr,
            decay_steps=plan.steps(self.decay_epochs, "decay_epochs"),
            decay_rate=self.decay_rate,
            staircase=self.staircase,
        )
