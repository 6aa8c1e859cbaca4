"""Cosine annealing with warm restarts (SGDR, Loshchilov & Hutter 2017), set at every batch."""

from __future__ import annotations

import keras

from kerasft.callbacks.lr_schedule_callback import FitPlan, LRScheduleCallback
from kerasft.errors import KerasftError


class CosineRestarts(LRScheduleCallback):
    """SGDR: the rate follows a cosine from `initial_lr` down to `alpha * initial_lr` over the
    first cycle of `first_cycle_epochs`, then restarts; each cycle is `t_mul` times longer and
    starts `m_mul` times lower. Annealed per batch, logged as "learning_rate".

    The schedule is Keras's `keras.optimizers.schedules.CosineDecayRestarts`;
    this callback counts in epochs and drives a float learning rate.

    Args:
        initial_lr: the rate at each (first) restart; by default the optimizer's rate.
        first_cycle_epochs: length of the first cycle in epochs (fractions allowed).
        t_mul: cycle length multiplier.
        m_mul: restart rate multiplier.
        alpha: the floor, as a fraction of the restart rate.
        steps_per_epoch: only needed for datasets of unknown length.
        verbose: 1 prints the rate at each epoch start.

    Example:

    >>> import keras, numpy as np
    >>> import kerasft as kft
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    >>> model.compile(keras.optimizers.SGD(0.1), "mse")
    >>> sgdr = kft.callbacks.CosineRestarts(first_cycle_epochs=1, t_mul=2.0)
    >>> _ = model.fit(np.zeros((32, 4)), np.zeros((32, 1)), batch_size=8, epochs=3,
    ...               callbacks=[sgdr], verbose=0)
    >>> [round(lr, 3) for lr in sgdr.learning_rates[3:6]]  # end of cycle 1, restart
    [0.015, 0.1, 0.096]
    """

    def __init__(
        self,
        initial_lr: float | None = None,
        first_cycle_epochs: float = 1.0,
        t_mul: float = 2.0,
        m_mul: float = 1.0,
        alpha: float = 0.0,
        steps_per_epoch: int | None = None,
        verbose: int = 0,
    ):
        super().__init__(steps_per_epoch=steps_per_epoch, verbose=verbose)
        if not first_cycle_epochs > 0 or not t_mul > 0 or not m_mul > 0:
            raise KerasftError(
                "first_cycle_epochs, t_mul and m_mul must be positive (got "
                f"{first_cycle_epochs!r}, {t_mul!r}, {m_mul!r})."
            )
        if not 0.0 <= alpha <= 1.0:
            raise KerasftError(f"alpha={alpha!r} must be between 0 and 1.")
        self.set_initial_lr(initial_lr)
        self.first_cycle_epochs = first_cycle_epochs
        self.t_mul = t_mul
        self.m_mul = m_mul
        self.alpha = alpha

    def make_schedule(self, plan: FitPlan):
        return keras.optimizers.schedules.CosineDecayRestarts(
            plan.base_lr,
            first_decay_steps=plan.steps(self.first_cycle_epochs, "first_cycle_epochs"),
            t_mul=self.t_mul,
            m_mul=self.m_mul,
            alpha=self.alpha,
        )
