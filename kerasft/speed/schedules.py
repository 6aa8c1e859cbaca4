"""`PhaseCosine`: cosine learning-rate decay over one `fine_tune` phase, per batch."""

from __future__ import annotations

import math

import keras


class PhaseCosine(keras.callbacks.Callback):
    """Decay the learning rate from its compiled value to `floor` along a half cosine, batch
    by batch, across the epochs of one `kft.fine_tune` phase (other phases are left alone).

    Args:
        phase: the phase to schedule (1: head, 2: unfrozen blocks), or None for every `fit`.
        floor: the final learning rate, as a fraction of the starting one.

    Example:

    >>> import kerasft as kft
    >>> from kerasft.speed.schedules import PhaseCosine
    >>> # kft.fine_tune(model, train, val, epochs=(5, 4), callbacks=[PhaseCosine(phase=2)])
    >>> PhaseCosine(phase=2).get_config()
    {'phase': 2, 'floor': 0.0}
    """

    def __init__(self, phase: int | None = 2, floor: float = 0.0):
        super().__init__()
        self.phase = phase
        self.floor = floor
        self._active = False

    def on_train_begin(self, logs=None):
        current = getattr(self.model, "_kerasft_phase", None)
        self._active = self.phase is None or current == self.phase
        self._base = None
        self._step = 0

    def on_epoch_begin(self, epoch, logs=None):
        if self._active and self._base is None:
            self._base = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            epochs = max(1, self.params.get("epochs", epoch + 1) - epoch)
            self._total = max(1, epochs * (self.params.get("steps") or 1))

    def on_train_batch_begin(self, batch, logs=None):
        if not self._active or self._base is None:
            return
        progress = min(1.0, self._step / self._total)
        scale = self.floor + (1 - self.floor) * 0.5 * (1 + math.cos(math.pi * progress))
        self.model.optimizer.learning_rate = self._base * scale
        self._step += 1

    def on_train_end(self, logs=None):
        if self._active and self._base is not None:
            self.model.optimizer.learning_rate = self._base  # a later fit starts afresh

    def get_config(self):
        return {"phase": self.phase, "floor": self.floor}
