"""Early stopping that understands kerasft's two fine-tuning phases."""

from __future__ import annotations

import keras

from kerasft.errors import KerasftError
from kerasft.training.phase import current_phase


class EarlyStopping(keras.callbacks.EarlyStopping):
    """Keras's `EarlyStopping` plus `min_epochs` and an explicit rule for training in phases.

    `kft.fine_tune` trains in two `fit` calls (head, then unfrozen backbone with
    `initial_epoch` > 0, `kerasft.training.current_phase(model).number == 2`); each `fit` call is a phase for a
    plain Keras model. Phase 2 often starts worse than phase 1 ended (new trainable weights, a
    new optimizer), so comparing it with phase 1's best would stop it at once.

    - `reset_on_phase=True` (default): at each phase start the patience counter restarts and
      the best value goes back to the baseline (none, or `baseline`), so phase 2 gets its own
      `patience` epochs and its own best epoch; `restore_best_weights` restores the best
      weights of the phase that is ending (at the end of each `fit`, stopped or not).
    - `reset_on_phase=False`: one run across phases. Best value, best weights and patience
      counter carry over; phase 2 stops after `patience` epochs without beating phase 1's
      best, and `restore_best_weights` may bring back phase 1's weights.

    A new phase is a `fit` call whose `current_phase(model)` number differs from the previous
    call's, or any `fit` call outside `kft.fine_tune` (no current phase).

    Args:
        monitor, min_delta, patience, verbose, mode, baseline, restore_best_weights,
        start_from_epoch: as in `keras.callbacks.EarlyStopping` (`start_from_epoch` is an
            absolute epoch index).
        min_epochs: never stop a phase before it has run this many epochs (the best value and
            weights are still tracked meanwhile).
        reset_on_phase: see above.

    Example:

    >>> import keras, numpy as np
    >>> import kerasft as kft
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    >>> model.compile(keras.optimizers.SGD(0.01), "mse")
    >>> stop = kft.callbacks.EarlyStopping("loss", patience=0, min_epochs=3)
    >>> x, y = np.random.rand(32, 4), np.random.rand(32, 1)
    >>> history = model.fit(x, y, epochs=5, callbacks=[stop], verbose=0)
    >>> len(history.history["loss"]) >= 3
    True
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0,
        patience: int = 0,
        verbose: int = 0,
        mode: str = "auto",
        baseline: float | None = None,
        restore_best_weights: bool = False,
        start_from_epoch: int = 0,
        min_epochs: int = 0,
        reset_on_phase: bool = True,
    ):
        if mode not in ("auto", "min", "max"):
            raise KerasftError(f"mode={mode!r} must be 'auto', 'min' or 'max'.")
        if int(patience) < 0 or int(min_epochs) < 0 or int(start_from_epoch) < 0:
            raise KerasftError(
                "patience, min_epochs and start_from_epoch must be >= 0 (got "
                f"{patience!r}, {min_epochs!r}, {start_from_epoch!r})."
            )
        super().__init__(
            monitor=monitor,
            min_delta=min_delta,
            patience=int(patience),
            verbose=verbose,
            mode=mode,
            baseline=baseline,
            restore_best_weights=restore_best_weights,
            start_from_epoch=int(start_from_epoch),
        )
        self.mode = mode
        self.min_epochs = int(min_epochs)
        self.reset_on_phase = reset_on_phase
        self.phases = 0
        self._phase_key = None
        self._phase_first_epoch: int | None = None
        self.best_weights = None
        self.best = None
        self.best_epoch = 0

    def on_train_begin(self, logs=None):
        phase = current_phase(self.model)
        key = phase.number if phase is not None else None
        new_phase = self.phases == 0 or key is None or key != self._phase_key
        self._phase_key = key
        if new_phase:
            self.phases += 1
        if self.phases == 1 or (new_phase and self.reset_on_phase):
            super().on_train_begin(logs)
        else:
            self.stopped_epoch = 0
        self._phase_first_epoch = None

    def on_epoch_begin(self, epoch, logs=None):
        if self._phase_first_epoch is None:
            self._phase_first_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        already_stopping = self.model.stop_training
        super().on_epoch_end(epoch, logs)
        first = self._phase_first_epoch if self._phase_first_epoch is not None else epoch
        if (
            self.model.stop_training
            and not already_stopping
            and self.stopped_epoch == epoch
            and epoch - first + 1 < self.min_epochs
        ):
            # Patience ran out, but this phase has not had min_epochs yet: keep going.
            self.model.stop_training = False
            self.stopped_epoch = 0

    def get_config(self) -> dict:
        return {
            "monitor": self.monitor,
            "min_delta": self.min_delta,
            "patience": self.patience,
            "verbose": self.verbose,
            "mode": self.mode,
            "baseline": self.baseline,
            "restore_best_weights": self.restore_best_weights,
            "start_from_epoch": self.start_from_epoch,
            "min_epochs": self.min_epochs,
            "reset_on_phase": self.reset_on_phase,
        }

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)
