"""Drive an optimizer's learning rate from a step-based schedule, batch by batch, and log it."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np

from kerasft import compat
from kerasft.errors import KerasftError
from kerasft.optimizers._inner import model_optimizer
from kerasft.training.phase import current_phase

LearningRateSchedule = keras.optimizers.schedules.LearningRateSchedule


@dataclass(frozen=True)
class FitPlan:
    """What a schedule callback knows about the `fit` call it runs in.

    `base_lr` is the callback's own initial rate or, by default, the optimizer's rate when the
    callback first met that optimizer. `total_steps` counts the steps from the schedule's step 0
    (the first step of this fit for schedules that restart each fit, else epoch 0) to the end.
    """

    steps_per_epoch: int | None
    first_epoch: int
    epochs: int
    base_lr: float
    total_steps: int | None

    def steps(self, epochs: float | None, what: str) -> int:
        """`epochs` (fractions allowed) in optimizer steps."""
        if self.steps_per_epoch is None:
            raise KerasftError(
                f"{what} is given in epochs, but the number of steps per epoch is unknown "
                "(a dataset of unknown length). Pass steps_per_epoch to fit() or to the callback."
            )
        return max(1, round(float(epochs) * self.steps_per_epoch))


class LRScheduleCallback(keras.callbacks.Callback):
    """Set `model.optimizer.learning_rate` at every batch from a step-based schedule, and write
    the rate into the logs under "learning_rate" (batch and epoch logs), so `CSVLogger`,
    `TensorBoard` and `History` record it when they come after this callback in the list.

    The schedule's step is `epoch * steps_per_epoch + batch`, so `initial_epoch` (kerasft's
    fine-tuning phase 2, a resumed run) continues the schedule where it was; subclasses with
    `restart_each_fit = True` (one-cycle, warm-up) start a new cycle at each `fit` call instead.
    With `steps_per_execution > 1`, the rate changes once per execution.

    The optimizer must have a float learning rate (not a `LearningRateSchedule`).

    This is also the base of kerasft's schedule callbacks. A subclass overrides `make_schedule`,
    hands the constructor argument that sets its initial rate to `set_initial_lr` (and names it
    in `initial_lr_argument` unless it is `initial_lr`); the base checks it, serves it to `make_schedule`
    (`plan.base_lr`) and writes every constructor argument into `get_config`, each read from
    the attribute of the same name.

    Args:
        schedule: a `keras.optimizers.schedules.LearningRateSchedule` or any callable
            `step -> learning rate`, counted in optimizer steps.
        steps_per_epoch: only needed when `fit` cannot know it (datasets of unknown length)
            and the schedule is given in epochs.
        verbose: 1 prints the rate at the start of each epoch.

    Example:

    >>> import keras, numpy as np
    >>> from kerasft.callbacks.lr_schedule_callback import LRScheduleCallback
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    >>> model.compile(keras.optimizers.SGD(0.1), "mse")
    >>> schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=4, decay_rate=0.5)
    >>> callback = LRScheduleCallback(schedule)
    >>> history = model.fit(np.zeros((32, 4)), np.zeros((32, 1)), batch_size=8, epochs=2,
    ...                     callbacks=[callback], verbose=0)
    >>> [round(lr, 4) for lr in history.history["learning_rate"]]
    [0.0595, 0.0297]
    """

    restart_each_fit = False
    # The constructor argument that sets the rate the schedule starts from; `get_config` reads
    # it back from `set_initial_lr`. A callback without one never calls `set_initial_lr`.
    initial_lr_argument = "initial_lr"

    def __init__(
        self,
        schedule: LearningRateSchedule | Callable | None = None,
        steps_per_epoch: int | None = None,
        verbose: int = 0,
    ):
        super().__init__()
        if schedule is not None and not callable(schedule):
            raise KerasftError(
                f"schedule={schedule!r} must be a keras LearningRateSchedule or a callable "
                "step -> learning rate."
            )
        if steps_per_epoch is not None and int(steps_per_epoch) < 1:
            raise KerasftError(f"steps_per_epoch={steps_per_epoch!r} must be a positive integer.")
        self.schedule = schedule
        self.steps_per_epoch = int(steps_per_epoch) if steps_per_epoch is not None else None
        self.verbose = verbose
        self.learning_rates: list[float] = []
        self._initial_lr: float | None = None
        self._optimizer_seen = None
        self._base_lr: float | None = None
        self._active = None
        self._first_epoch: int | None = None
        self._epoch_start = 0
        self._batches_seen = 0
        self._lr: float | None = None
        self._step = 0

    def make_schedule(self, plan: FitPlan) -> LearningRateSchedule | Callable:
        """The step-based schedule for this fit call (subclasses override it).

        Args:
            plan: what the callback knows about the `fit` call (steps, epochs, base rate).
        """
        if self.schedule is None:
            raise KerasftError("LRScheduleCallback needs a schedule.")
        return self.schedule

    def set_initial_lr(self, value: float | None) -> None:
        """Keep the rate the schedule starts from (None: the optimizer's rate).

        Args:
            value: the rate given to the constructor argument named `initial_lr_argument`.
        """
        if value is not None and not value > 0:
            raise KerasftError(f"{self.initial_lr_argument}={value!r} must be positive.")
        self._initial_lr = value

    def initial_lr(self) -> float | None:
        """The rate the schedule starts from, when the callback is given one."""
        return self._initial_lr

    # --- plumbing -------------------------------------------------------------------------
    def _settable_optimizer(self):
        optimizer = model_optimizer(self.model, type(self).__name__)
        inner = optimizer
        while hasattr(inner, "inner_optimizer"):
            inner = inner.inner_optimizer
        if not isinstance(inner.learning_rate, keras.Variable):  # a schedule gives a tensor
            raise KerasftError(
                f"{type(self).__name__} sets the learning rate at each batch, but the optimizer "
                "was compiled with a LearningRateSchedule or a callable. Compile with a float "
                "learning_rate, or drop the callback and keep the schedule (see kerasft.schedules)."
            )
        return optimizer

    def on_train_begin(self, logs=None):
        optimizer = self._settable_optimizer()
        if self._optimizer_seen is not optimizer:
            # A new optimizer (a new compile, kerasft's phase 2) brings its own base rate.
            self._optimizer_seen = optimizer
            self._base_lr = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        self._active = None
        self._first_epoch = None
        self.learning_rates = []
        if self.restart_each_fit:
            self._batches_seen = 0

    def _plan(self, first_epoch: int) -> FitPlan:
        steps = self.steps_per_epoch or self.params.get("steps")
        epochs = int(self.params.get("epochs") or first_epoch + 1)
        origin = self._origin(first_epoch)
        total = steps * (epochs - origin) if steps else None
        base = self.initial_lr()
        return FitPlan(
            steps_per_epoch=steps,
            first_epoch=first_epoch,
            epochs=epochs,
            base_lr=float(base if base is not None else self._base_lr),
            total_steps=total,
        )

    def _origin(self, first_epoch: int) -> int:
        """The epoch the schedule's step 0 falls on."""
        if not self.restart_each_fit:
            return 0
        # A fine-tuning phase resumed after a crash goes on with the schedule it had:
        # `kft.fine_tune` records where the phase began.
        phase = current_phase(self.model)
        start = phase.first_epoch if phase is not None else None
        return first_epoch if start is None else min(int(start), first_epoch)

    def on_epoch_begin(self, epoch, logs=None):
        if self._first_epoch is None:
            self._first_epoch = epoch
            self.plan = self._plan(epoch)
            self._active = self.make_schedule(self.plan)
            if not self.restart_each_fit and self.plan.steps_per_epoch is None and epoch == 0:
                self._batches_seen = 0
        steps = self.plan.steps_per_epoch
        if steps:
            self._epoch_start = (epoch - self._origin(self._first_epoch)) * steps
        else:
            self._epoch_start = self._batches_seen
        if self.verbose:
            lr = self.learning_rate_at(self._epoch_start)
            compat.print_msg(f"Epoch {epoch + 1}: {type(self).__name__} learning rate {lr:.4g}.")

    def learning_rate_at(self, step: int) -> float:
        """The rate the active schedule gives at `step` (valid once training began)."""
        return float(np.asarray(keras.ops.convert_to_numpy(self._active(step))))

    def on_train_batch_begin(self, batch, logs=None):
        step = self._epoch_start + batch
        self._step = step
        self._lr = self.learning_rate_at(step)
        self.model.optimizer.learning_rate = self._lr
        self.on_step(step)

    def on_step(self, step: int) -> None:
        """Called after the rate was set for `step`; for per-step extras such as momentum."""

    def on_train_batch_end(self, batch, logs=None):
        # Recorded here, not at batch begin: a dataset of unknown length ends with a
        # batch-begin call for a batch that never comes.
        self._batches_seen = self._step + 1
        self.learning_rates.append(self._lr)
        if logs is not None:
            logs["learning_rate"] = self._lr

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and self._lr is not None:
            logs["learning_rate"] = self._lr

    def get_config(self) -> dict:
        """Every constructor argument, read from the attribute of the same name."""
        config = {}
        for name in inspect.signature(type(self).__init__).parameters:
            if name == "self":
                continue
            value = self._initial_lr if name == self.initial_lr_argument else getattr(self, name)
            if isinstance(value, LearningRateSchedule):
                value = keras.optimizers.schedules.serialize(value)
            config[name] = value
        return config

    @classmethod
    def from_config(cls, config: dict):
        """The callback `get_config` describes.

        Args:
            config: a dict from `get_config` (JSON round-trips are fine).
        """
        config = dict(config)
        if isinstance(config.get("schedule"), dict):
            config["schedule"] = keras.optimizers.schedules.deserialize(config["schedule"])
        return cls(**config)
