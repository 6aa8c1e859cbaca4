"""One-cycle learning-rate policy with momentum cycling, as fastai's `fit_one_cycle`."""

from __future__ import annotations

import keras

from kerasft.callbacks.lr_schedule_callback import FitPlan, LRScheduleCallback
from kerasft.errors import KerasftError
from kerasft.optimizers._inner import inner_optimizer
from kerasft.optimizers.hyperparameters import schedule_hyperparameter, unschedule_hyperparameter
from kerasft.schedules.one_cycle import OneCycleSchedule, one_cycle_value


class OneCycle(LRScheduleCallback):
    """One cycle per `fit` call, set at every batch: the learning rate warms up (cosine) from
    `max_lr / div_factor` to `max_lr` over `pct_start` of the steps, then anneals (cosine) to
    `max_lr / final_div_factor`. Meanwhile the momentum moves the other way, `max_momentum ->
    min_momentum -> max_momentum` (0.95 -> 0.85 -> 0.95): Adam-like optimizers' `beta_1`, or
    SGD/RMSprop's `momentum` when it is not 0. The original momentum is put back after `fit`.

    The rate is logged as "learning_rate", the momentum as "momentum" (batch and epoch logs).
    The same schedule without the callback: `kerasft.schedules.OneCycleSchedule`.

    Args:
        max_lr: the peak rate; by default the optimizer's learning rate.
        total_steps: the cycle length in steps; by default every step of the `fit` call
            (`steps_per_epoch * (epochs - initial_epoch)`).
        pct_start: fraction of the cycle spent warming up.
        div_factor: the cycle starts at `max_lr / div_factor`.
        final_div_factor: the cycle ends at `max_lr / final_div_factor`.
        cycle_momentum: cycle `beta_1`/`momentum` inversely to the rate.
        max_momentum, min_momentum: the momentum range.
        steps_per_epoch: only for datasets of unknown length without `total_steps`.
        verbose: 1 prints the rate at each epoch start.

    Example:

    >>> import keras, numpy as np
    >>> import kerasft as kft
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    >>> model.compile(keras.optimizers.Adam(1e-2), "mse")
    >>> one_cycle = kft.callbacks.OneCycle(max_lr=1e-2)
    >>> history = model.fit(np.zeros((64, 4)), np.zeros((64, 1)), batch_size=8, epochs=4,
    ...                     callbacks=[one_cycle], verbose=0)
    >>> round(max(one_cycle.learning_rates), 4), round(min(one_cycle.momentums), 2)
    (0.01, 0.85)
    """

    restart_each_fit = True
    initial_lr_argument = "max_lr"

    def __init__(
        self,
        max_lr: float | None = None,
        total_steps: int | None = None,
        pct_start: float = 0.25,
        div_factor: float = 25.0,
        final_div_factor: float = 1e5,
        cycle_momentum: bool = True,
        max_momentum: float = 0.95,
        min_momentum: float = 0.85,
        steps_per_epoch: int | None = None,
        verbose: int = 0,
    ):
        super().__init__(steps_per_epoch=steps_per_epoch, verbose=verbose)
        if total_steps is not None and int(total_steps) < 1:
            raise KerasftError(f"total_steps={total_steps!r} must be a positive integer.")
        if not 0.0 <= min_momentum <= max_momentum < 1.0:
            raise KerasftError(
                f"Need 0 <= min_momentum <= max_momentum < 1 (got {min_momentum!r}, {max_momentum!r})."
            )
        # Checks pct_start and the div factors early, before any training.
        OneCycleSchedule(1.0, 1, pct_start, div_factor, final_div_factor)
        self.set_initial_lr(max_lr)
        self.total_steps = int(total_steps) if total_steps is not None else None
        self.pct_start = pct_start
        self.div_factor = div_factor
        self.final_div_factor = final_div_factor
        self.cycle_momentum = cycle_momentum
        self.max_momentum = max_momentum
        self.min_momentum = min_momentum
        self.momentums: list[float] = []
        self._momentum = None
        self._momentum_attr = None

    def make_schedule(self, plan: FitPlan):
        total = self.total_steps or plan.total_steps
        if not total:
            raise KerasftError(
                "OneCycle needs the cycle length: pass total_steps=..., or steps_per_epoch to "
                "fit() or to OneCycle, when the dataset's length is unknown."
            )
        self._total = total
        return OneCycleSchedule(
            plan.base_lr, total, self.pct_start, self.div_factor, self.final_div_factor
        )

    def _momentum_attribute(self, optimizer) -> str | None:
        if hasattr(optimizer, "beta_1"):
            return "beta_1"
        if hasattr(optimizer, "momentum") and float(optimizer.momentum) > 0:
            return "momentum"
        return None

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self.momentums = []
        self._momentum = None
        if self.cycle_momentum:
            optimizer = inner_optimizer(self.model.optimizer)
            self._momentum_attr = self._momentum_attribute(optimizer)
            if self._momentum_attr is not None:
                self._momentum = schedule_hyperparameter(optimizer, self._momentum_attr)
                # The train function read the float at trace time; retrace to read the variable.
                self.model.make_train_function(force=True)

    def on_step(self, step):
        if self._momentum is None:
            return
        value = one_cycle_value(
            step,
            self._total,
            self.pct_start,
            self.max_momentum,
            self.min_momentum,
            self.max_momentum,
        )
        self._momentum_value = float(keras.ops.convert_to_numpy(value))
        self._momentum.assign(self._momentum_value)

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch, logs)
        if self._momentum is not None:
            self.momentums.append(self._momentum_value)
            if logs is not None:
                logs["momentum"] = self._momentum_value

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if logs is not None and self.momentums:
            logs["momentum"] = self.momentums[-1]

    def on_train_end(self, logs=None):
        if self._momentum is not None:
            unschedule_hyperparameter(self.model.optimizer, self._momentum_attr)
            self._momentum = None
            self.model.make_train_function(force=True)
