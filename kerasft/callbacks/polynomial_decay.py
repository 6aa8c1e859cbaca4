"""Polynomial (linear by default) learning-rate decay, set at every batch."""

from __future__ import annotations

import keras

from kerasft.callbacks.lr_schedule_callback import FitPlan, LRScheduleCallback
from kerasft.errors import KerasftError


class PolynomialDecay(LRScheduleCallback):
    """Decay from `initial_lr` to `end_lr` along `(1 - step / decay_steps) ** power` over
    `decay_epochs` (by default every epoch of `fit`, from epoch 0), then stay at `end_lr`
    (or restart with `cycle=True`). Keras's `PolynomialDecay`, per batch, logged as
    "learning_rate".

    Args:
        initial_lr: the starting rate; by default the optimizer's rate.
        end_lr: the final rate.
        decay_epochs: the decay length in epochs; by default all epochs of the `fit` call.
        power: 1.0 is linear decay.
        cycle: restart after `decay_epochs`, as Keras's `cycle`.
        steps_per_epoch: only needed for datasets of unknown length.
        verbose: 1 prints the rate at each epoch start.

    Example:

    >>> import keras, numpy as np
    >>> import kerasft as kft
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    >>> model.compile(keras.optimizers.SGD(0.1), "mse")
    >>> decay = kft.callbacks.PolynomialDecay(end_lr=0.0)
    >>> _ = model.fit(np.zeros((16, 4)), np.zeros((16, 1)), batch_size=4, epochs=2,
    ...               callbacks=[decay], verbose=0)
    >>> [round(lr, 4) for lr in decay.learning_rates]
    [0.1, 0.0875, 0.075, 0.0625, 0.05, 0.0375, 0.025, 0.0125]
    """

    def __init__(
        self,
        initial_lr: float | None = None,
        end_lr: float = 0.0,
        decay_epochs: float | None = None,
        power: float = 1.0,
        cycle: bool = False,
        steps_per_epoch: int | None = None,
        verbose: int = 0,
    ):
        super().__init__(steps_per_epoch=steps_per_epoch, verbose=verbose)
        if decay_epochs is not None and not decay_epochs > 0:
            raise KerasftError(f"decay_epochs={decay_epochs!r} must be positive.")
        if end_lr < 0 or not power > 0:
            raise KerasftError(f"Need end_lr >= 0 and power > 0 (got {end_lr!r}, {power!r}).")
        self.set_initial_lr(initial_lr)
        self.end_lr = end_lr
        self.decay_epochs = decay_epochs
        self.power = power
        self.cycle = cycle

    def make_schedule(self, plan: FitPlan):
        if self.decay_epochs is not None:
            decay_steps = plan.steps(self.decay_epochs, "decay_epochs")
        else:
            if not plan.total_steps:
                raise KerasftError(
                    "PolynomialDecay decays over the whole fit by default, but the number of "
                    "steps is unknown: pass decay_epochs and steps_per_epoch."
                )
            decay_steps = plan.total_steps
        return keras.optimizers.schedules.PolynomialDecay(
            plan.base_lr,
            decay_steps=decay_steps,
            end_learning_rate=self.end_lr,
            power=self.power,
            cycle=self.cycle,
        )
