"""Stop on NaN/Inf, roll back to the last good weights and say where it happened."""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Sequence

import keras

from kerasft.errors import KerasftError
from kerasft.optimizers.state import TrainingState

logger = logging.getLogger("kerasft")


class NaNGuard(keras.callbacks.Callback):
    """Watch the loss (and other log values) for NaN/Inf; on the first one, stop training,
    restore the last good snapshot of the weights (and of the optimizer's state, whose moments
    a NaN step poisons too) and report the epoch, the batch and the learning rate.

    Snapshots are taken when training starts, at each epoch end and, with `snapshot_every=N`,
    every N batches; a snapshot is only kept if the values watched were finite.

    The report goes to a `RuntimeWarning`, to the "kerasft" logger and to `self.event`
    (a dict: epoch, batch, learning_rate, key, value, restored_from). Like Keras's
    `TerminateOnNaN`, it stops with `model.stop_training` so later callbacks still see
    `on_train_end`; with `raise_error=True` it raises a `KerasftError` instead, after restoring.

    Args:
        snapshot_every: also snapshot every this many batches (None: epoch ends only).
        monitor: log keys to watch; batch logs are checked for the training keys, epoch
            logs for all (so "val_loss" works too).
        restore: roll back on NaN (False only stops).
        raise_error: raise instead of stopping gracefully.

    Example:

    >>> import keras, numpy as np, warnings
    >>> import kerasft as kft
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    >>> model.compile(keras.optimizers.SGD(1e12), "mse")      # diverges to inf/nan
    >>> guard = kft.callbacks.NaNGuard()
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     _ = model.fit(np.ones((64, 4)), np.ones((64, 1)) * 1e3, batch_size=8, epochs=3,
    ...                   callbacks=[guard], verbose=0)
    >>> guard.event["epoch"], bool(np.isfinite(model.get_weights()[0]).all())
    (0, True)
    """

    def __init__(
        self,
        snapshot_every: int | None = None,
        monitor: Sequence[str] = ("loss",),
        restore: bool = True,
        raise_error: bool = False,
    ):
        super().__init__()
        if snapshot_every is not None and (
            not isinstance(snapshot_every, int) or snapshot_every < 1
        ):
            raise KerasftError(
                f"snapshot_every={snapshot_every!r} must be a positive integer or None."
            )
        if isinstance(monitor, str):
            monitor = (monitor,)
        if not monitor:
            raise KerasftError("monitor must name at least one log key, e.g. ('loss',).")
        self.snapshot_every = snapshot_every
        self.monitor = tuple(monitor)
        self.restore = restore
        self.raise_error = raise_error
        self.event: dict | None = None
        self.message: str | None = None
        self._state: TrainingState | None = None
        self._snapshot_at: tuple[int, int | None] = (0, None)
        self._epoch = 0

    def _snapshot(self, epoch: int, batch: int | None) -> None:
        state = TrainingState.capture(self.model)
        if state.is_finite():
            self._state, self._snapshot_at = state, (epoch, batch)

    def on_train_begin(self, logs=None):
        self.event = None
        self.message = None
        self._state = None
        self._snapshot(-1, None)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    @staticmethod
    def _bad(logs, keys):
        for key in keys:
            value = (logs or {}).get(key)
            if value is None:
                continue
            try:
                value = float(value)
            except (TypeError, ValueError):
                continue
            if not math.isfinite(value):
                return key, value
        return None

    def on_train_batch_end(self, batch, logs=None):
        if self.event is not None:
            return
        bad = self._bad(logs, [k for k in self.monitor if not k.startswith("val_")])
        if bad:
            self._trip(self._epoch, batch, *bad)
        elif self.snapshot_every and (batch + 1) % self.snapshot_every == 0:
            self._snapshot(self._epoch, batch)

    def on_epoch_end(self, epoch, logs=None):
        if self.event is not None:
            return
        bad = self._bad(logs, self.monitor)
        if bad:
            self._trip(epoch, None, *bad)
        else:
            self._snapshot(epoch, None)

    def _trip(self, epoch: int, batch: int | None, key: str, value: float) -> None:
        self.model.stop_training = True
        lr = float("nan")
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None:
            lr = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        where = f"epoch {epoch + 1} (index {epoch})" + (
            f", batch {batch + 1} (index {batch})" if batch is not None else ", at the epoch end"
        )
        snap_epoch, snap_batch = self._snapshot_at
        if snap_epoch < 0:
            snapshot = "the weights from the start of training"
        elif snap_batch is None:
            snapshot = f"the weights from the end of epoch {snap_epoch + 1}"
        else:
            snapshot = f"the weights after batch {snap_batch + 1} of epoch {snap_epoch + 1}"
        restored = self.restore and self._state is not None
        if restored:
            self._state.restore()
        self.event = {
            "epoch": epoch,
            "batch": batch,
            "learning_rate": lr,
            "key": key,
            "value": value,
            "restored_from": self._snapshot_at if restored else None,
        }
        self.message = (
            f"NaNGuard: {key} became {value} at {where}, with learning rate {lr:.4g}. "
            + (
                f"Training stopped and {snapshot} were restored."
                if restored
                else "Training stopped."
            )
            + " Try a lower learning rate, gradient clipping (kft.callbacks.GradientClipping) "
            "or check the inputs for NaN/Inf."
        )
        logger.warning(self.message)
        warnings.warn(self.message, RuntimeWarning, stacklevel=2)
        if self.raise_error:
            raise KerasftError(self.message)

    def get_config(self) -> dict:
        return {
            "snapshot_every": self.snapshot_every,
            "monitor": list(self.monitor),
            "restore": self.restore,
            "raise_error": self.raise_error,
        }

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)
