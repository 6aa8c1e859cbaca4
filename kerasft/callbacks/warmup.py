"""Linear learning-rate warm-up at the start of each `fit`, in front of any other schedule."""

from __future__ import annotations

from dataclasses import replace

import keras

from kerasft._targets import load_target
from kerasft.callbacks.lr_schedule_callback import FitPlan, LRScheduleCallback
from kerasft.errors import KerasftError
from kerasft.schedules.warmup import WarmupSchedule

LearningRateSchedule = keras.optimizers.schedules.LearningRateSchedule


class Warmup(LRScheduleCallback):
    """Rise linearly from `start_lr` to the target over the first `warmup_epochs` (or
    `warmup_steps`) of each `fit` call, then hand over to `after`, whose step 0 is the first
    step after the warm-up. Set per batch, logged as "learning_rate".

    `after` may be:
      - None: stay at the target (`target_lr`, by default the optimizer's rate);
      - a kerasft schedule callback, e.g. `kft.callbacks.CosineRestarts(...)` (don't also pass
        it to `fit`): its schedule runs after the warm-up, over the remaining steps; only its
        learning rate is used (not OneCycle's momentum cycling);
      - any `keras.optimizers.schedules.LearningRateSchedule`, counted in steps.
    The target is the value of `after` at its step 0.

    The same schedule without the callback: `kerasft.schedules.WarmupSchedule`.

    Args:
        after: what follows the warm-up (see above).
        warmup_epochs: warm-up length in epochs (fractions allowed).
        warmup_steps: or in steps (takes precedence).
        start_lr: the rate at the first step.
        target_lr: the rate reached; by default the optimizer's rate (or `after`'s own start).
        steps_per_epoch: only needed for datasets of unknown length.
        verbose: 1 prints the rate at each epoch start.

    Example:

    >>> import keras, numpy as np
    >>> import kerasft as kft
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    >>> model.compile(keras.optimizers.SGD(0.1), "mse")
    >>> warmup = kft.callbacks.Warmup(kft.callbacks.ExponentialDecay(decay_rate=0.5), warmup_steps=4)
    >>> _ = model.fit(np.zeros((32, 4)), np.zeros((32, 1)), batch_size=4, epochs=2,
    ...               callbacks=[warmup], verbose=0)
    >>> [round(lr, 3) for lr in warmup.learning_rates[:6]] + [round(warmup.learning_rates[-1], 3)]
    [0.0, 0.025, 0.05, 0.075, 0.1, 0.092, 0.039]
    """

    restart_each_fit = True
    initial_lr_argument = "target_lr"

    def __init__(
        self,
        after: LRScheduleCallback | LearningRateSchedule | None = None,
        warmup_epochs: float = 1.0,
        warmup_steps: int | None = None,
        start_lr: float = 0.0,
        target_lr: float | None = None,
        steps_per_epoch: int | None = None,
        verbose: int = 0,
    ):
        super().__init__(steps_per_epoch=steps_per_epoch, verbose=verbose)
        if isinstance(after, dict):
            after = _deserialize_after(after)
        if after is not None and not isinstance(after, (LRScheduleCallback, LearningRateSchedule)):
            raise KerasftError(
                f"after={after!r} must be a kerasft schedule callback (e.g. "
                "kft.callbacks.CosineRestarts()), a keras LearningRateSchedule or None."
            )
        if isinstance(after, Warmup):
            raise KerasftError("Warmup cannot wrap another Warmup.")
        if warmup_steps is None and not warmup_epochs > 0:
            raise KerasftError(f"warmup_epochs={warmup_epochs!r} must be positive.")
        if warmup_steps is not None and int(warmup_steps) < 1:
            raise KerasftError(f"warmup_steps={warmup_steps!r} must be a positive integer.")
        if start_lr < 0:
            raise KerasftError(f"start_lr={start_lr!r} must be >= 0.")
        self.after = after
        self.warmup_epochs = warmup_epochs
        self.warmup_steps = int(warmup_steps) if warmup_steps is not None else None
        self.start_lr = start_lr
        self.set_initial_lr(target_lr)

    def make_schedule(self, plan: FitPlan):
        warm = self.warmup_steps or plan.steps(self.warmup_epochs, "warmup_epochs")
        after = self.after
        if after is None:
            after = plan.base_lr
        elif isinstance(after, LRScheduleCallback):
            own = after.initial_lr()
            remaining = plan.total_steps - warm if plan.total_steps else None
            sub_plan = replace(
                plan,
                base_lr=float(own if own is not None else plan.base_lr),
                total_steps=max(remaining, 1) if remaining is not None else None,
            )
            after = after.make_schedule(sub_plan)
        return WarmupSchedule(after, warm, self.start_lr)

    def get_config(self):
        config = super().get_config()
        after = self.after
        if isinstance(after, LearningRateSchedule):
            config["after"] = {"schedule": keras.optimizers.schedules.serialize(after)}
        elif isinstance(after, LRScheduleCallback):
            config["after"] = {
                "callback": f"{type(after).__module__}:{type(after).__name__}",
                "config": after.get_config(),
            }
        return config


def _deserialize_after(config: dict):
    if "schedule" in config:
        return keras.optimizers.schedules.deserialize(config["schedule"])
    if "callback" in config:
        return load_target(config["callback"]).from_config(config.get("config", {}))
    raise KerasftError(f"Cannot read Warmup's after={config!r}.")
