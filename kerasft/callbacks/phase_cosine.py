"""Cosine learning-rate decay over one `kft.fine_tune` phase, set at every batch."""

from __future__ import annotations

import keras
import numpy as np

from kerasft.callbacks.lr_schedule_callback import FitPlan, LRScheduleCallback
from kerasft.errors import KerasftError
from kerasft.training.phase import current_phase


class PhaseCosine(LRScheduleCallback):
    """Decay the learning rate from its compiled value to `floor` times it along a half
    cosine, batch by batch, across all epochs of one `kft.fine_tune` phase; the compiled rate
    is put back when the phase ends. This is `kerasft fit`'s `ft_schedule: cosine`.

    The phase is `kerasft.training.current_phase(model).number` (1: head, 2: unfrozen
    blocks) while `kft.fine_tune` runs; the other phase keeps its constant rate. With `phase=None` every `fit` call gets
    its own cosine (a plain Keras project). The schedule is Keras's `CosineDecay` over the
    steps of the phase. The rate is logged as "learning_rate" in both phases, so a
    `CSVLogger` appending across phases keeps one set of columns.

    Args:
        phase: the phase to schedule (1 or 2), or None for every `fit`.
        floor: the final learning rate, as a fraction of the compiled one.
        warmup: the share of the phase's steps (0 to 1) over which the rate first rises
            linearly from 0 to the compiled one; the cosine takes the rest. Newly unfrozen
            blocks meet Adam's first, largest steps at a small rate this way.
        steps_per_epoch: only needed for datasets of unknown length.
        verbose: 1 prints the rate at each epoch start.

    Example:

    >>> import keras, numpy as np
    >>> import kerasft as kft
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    >>> model.compile(keras.optimizers.SGD(0.1), "mse")
    >>> cosine = kft.callbacks.PhaseCosine(phase=None)
    >>> _ = model.fit(np.zeros((16, 4)), np.zeros((16, 1)), batch_size=4, epochs=2,
    ...               callbacks=[cosine], verbose=0)
    >>> [round(lr, 4) for lr in cosine.learning_rates]
    [0.1, 0.0962, 0.0854, 0.0691, 0.05, 0.0309, 0.0146, 0.0038]
    >>> round(float(model.optimizer.learning_rate), 4)  # the compiled rate, back after fit
    0.1
    """

    restart_each_fit = True

    def __init__(
        self,
        phase: int | None = 2,
        floor: float = 0.0,
        warmup: float = 0.0,
        steps_per_epoch: int | None = None,
        verbose: int = 0,
    ):
        super().__init__(steps_per_epoch=steps_per_epoch, verbose=verbose)
        if phase not in (None, 1, 2) or isinstance(phase, bool):
            raise KerasftError(
                f"phase={phase!r} must be 1 (head), 2 (unfrozen blocks) or None (every fit)."
            )
        if not 0.0 <= floor <= 1.0:
            raise KerasftError(f"floor={floor!r} must be between 0 and 1 (a fraction of the rate).")
        if not 0.0 <= warmup < 1.0:
            raise KerasftError(
                f"warmup={warmup!r} must be at least 0 and below 1 (a share of the phase's steps)."
            )
        self.phase = phase
        self.floor = floor
        self.warmup = warmup
        self._in_phase = False
        self._compiled_lr: float | None = None

    def make_schedule(self, plan: FitPlan):
        total = plan.total_steps
        if not total:
            raise KerasftError(
                "PhaseCosine decays over all steps of the phase, but their number is unknown "
                "(a dataset of unknown length): pass steps_per_epoch to fit() or to PhaseCosine."
            )
        warmup = int(round(self.warmup * total))
        cosine = keras.optimizers.schedules.CosineDecay(
            plan.base_lr, total - warmup, alpha=self.floor
        )
        # Every step's rate at once: a lookup per batch instead of a few eager ops. The ramp
        # is CosineDecay's linear warm-up from 0, written out because CosineDecay with
        # warmup_steps evaluates one step at a time (an ops.cond), not an array of them.
        ramp = plan.base_lr * np.arange(warmup) / max(warmup, 1)
        decay = keras.ops.convert_to_numpy(cosine(np.arange(total - warmup + 1)))
        rates = np.concatenate([ramp, decay]).astype("float64")
        return lambda step: rates[min(int(step), total)]

    def _rate(self) -> float:
        return float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    def on_train_begin(self, logs=None):
        phase = current_phase(self.model)
        current = phase.number if phase is not None else None
        self._in_phase = self.phase is None or current == self.phase
        self.learning_rates = []
        if self._in_phase:
            super().on_train_begin(logs)
            # Each phase decays from the rate it was compiled with.
            self._base_lr = self._compiled_lr = self._rate()

    def on_epoch_begin(self, epoch, logs=None):
        if self._in_phase:
            super().on_epoch_begin(epoch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        if self._in_phase:
            super().on_train_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        if self._in_phase:
            super().on_train_batch_end(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self._in_phase:
            super().on_epoch_end(epoch, logs)
        elif logs is not None:
            logs["learning_rate"] = self._rate()

    def on_train_end(self, logs=None):
        if self._in_phase and self._compiled_lr is not None:
            self.model.optimizer.learning_rate = self._compiled_lr  # a later fit starts afresh
