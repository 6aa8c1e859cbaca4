"""A progress bar with one ETA over a whole fine-tune, both phases included."""

from __future__ import annotations

import warnings
from typing import IO, Any

import keras

from kerasft.errors import KerasftError
from kerasft.training.phase import current_phase


class ProgressBar(keras.callbacks.Callback):
    """A `tqdm` progress bar (a widget in notebooks, text elsewhere) over all training steps.

    Use it instead of Keras's progress bar (pass `verbose=0` to `fit`). It counts steps over every
    `fit` call it is given to: the second phase of a fine-tune (`fit(..., initial_epoch=k)`) goes on
    counting from where the first one stopped, so the ETA covers the whole run. The total is known
    from the start when `total_epochs` is given (or `kft.fine_tune` tells the model); otherwise each
    `fit` call extends it by its own epochs. During `kft.fine_tune` one bar spans both phases;
    after separate `fit` calls of your own, the next call's bar starts at the steps done so far.

    Args:
        total_epochs: epochs of the whole run over all `fit` calls (e.g. head + fine-tune epochs).
            Default: the `epochs` of the current `fit` call.
        file: where a text bar is written (default: stderr, or a notebook widget); giving one
            always makes a text bar.
        desc: text before the epoch counter.
        mininterval: least seconds between redraws.

    Example:

    >>> import io, numpy as np, keras, kerasft as kft
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    >>> model.compile("sgd", "mse")
    >>> bar = kft.callbacks.ProgressBar(file=io.StringIO())
    >>> x, y = np.zeros((8, 3)), np.zeros((8, 1))
    >>> _ = model.fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=[bar])
    >>> _ = model.fit(x, y, batch_size=4, epochs=5, initial_epoch=2, verbose=0, callbacks=[bar])
    >>> bar.steps_done  # one count over both fits; the bar closed at the last epoch
    10
    """

    def __init__(
        self,
        total_epochs: int | None = None,
        file: IO[str] | None = None,
        desc: str = "",
        mininterval: float = 0.1,
    ):
        super().__init__()
        if total_epochs is not None and not (isinstance(total_epochs, int) and total_epochs > 0):
            raise KerasftError(
                f"ProgressBar: total_epochs must be a positive number of epochs, got {total_epochs!r}."
            )
        self.total_epochs = total_epochs
        self.file = file
        self.desc = desc
        self.mininterval = mininterval
        self._bar = None
        self._steps_done = 0
        self._steps_per_epoch: int | None = None
        self._epochs = 0
        self._epoch = 0
        self._epoch_steps = 0
        self._postfix: dict[str, str] = {}

    @property
    def steps_done(self) -> int:
        """Training steps counted so far, over all `fit` calls."""
        return self._steps_done

    @property
    def total_steps(self) -> int | None:
        """The bar's current total, or None while the steps per epoch are still unknown."""
        return self._bar.total if self._bar is not None else None

    def get_config(self) -> dict[str, Any]:
        return {
            "total_epochs": self.total_epochs,
            "desc": self.desc,
            "mininterval": self.mininterval,
        }

    def close(self) -> None:
        """Close the bar now (it is closed anyway when the last epoch ends)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def on_train_begin(self, logs=None):
        params = self.params or {}
        if params.get("verbose"):
            warnings.warn(
                "ProgressBar: fit() also prints Keras's progress bar; pass verbose=0 to fit.",
                stacklevel=2,
            )
        running = current_phase(self.model)
        told = running.total_epochs if running is not None else None
        self._epochs = max(self.total_epochs or 0, told or 0, int(params.get("epochs") or 0))
        self._steps_per_epoch = params.get("steps") or self._steps_per_epoch

    def _open(self, description: str) -> None:
        if self._bar is None:
            if self.file is not None:
                from tqdm.std import tqdm
            else:
                with warnings.catch_warnings():
                    # Without ipywidgets, tqdm.auto warns and draws a text bar, which is fine.
                    warnings.filterwarnings("ignore", message=".*IProgress not found.*")
                    from tqdm.auto import tqdm
            # `initial` carries the count over from an earlier fit whose bar was closed.
            self._bar = tqdm(
                total=self._total(),
                desc=description,
                initial=self._steps_done,
                file=self.file,
                unit="step",
                mininterval=self.mininterval,
                dynamic_ncols=self.file is None,
            )

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._epoch_steps = 0
        running = current_phase(self.model)
        phase = running.number if running is not None else None
        parts = [self.desc] if self.desc else []
        if phase is not None:
            parts.append(f"phase {phase}")
        parts.append(f"epoch {epoch + 1}/{self._epochs}")
        description = " ".join(parts)
        # Opened here, not at train begin, so its first drawing already shows the total.
        self._open(description)
        self._set_total()
        self._bar.set_description(description, refresh=False)

    def on_train_batch_end(self, batch, logs=None):
        self._steps_done += 1
        self._epoch_steps += 1
        if logs and "loss" in logs:
            self._postfix["loss"] = _short(logs["loss"])
            self._bar.set_postfix(self._postfix, refresh=False)
        self._bar.update(1)

    def on_epoch_end(self, epoch, logs=None):
        if self._steps_per_epoch is None:
            # An unsized dataset: the first epoch tells how many steps the others take.
            self._steps_per_epoch = self._epoch_steps
            self._set_total(after_epoch=True)
        self._postfix = {k: _short(v) for k, v in (logs or {}).items() if k != "learning_rate"}
        self._bar.set_postfix(self._postfix, refresh=False)
        self._bar.refresh()

    def on_train_end(self, logs=None):
        if self._bar is None:
            return
        # When another phase of `kft.fine_tune` follows: the same bar goes on counting.
        running = current_phase(self.model)
        more_phases = running is not None and running.last_epoch < running.total_epochs
        finished = self._epoch + 1 >= self._epochs
        if more_phases or not (finished or self.model.stop_training):
            self._bar.refresh()
        else:
            self.close()

    def _total(self, after_epoch: bool = False) -> int | None:
        if self._steps_per_epoch is None:
            return None
        # The steps actually done plus those still to come, so a phase that stopped early or
        # started at a later epoch keeps the total (and the ETA) honest.
        epochs_left = self._epochs - self._epoch - (1 if after_epoch else 0)
        return self._steps_done + epochs_left * self._steps_per_epoch

    def _set_total(self, after_epoch: bool = False) -> None:
        total = self._total(after_epoch)
        if total is not None:
            self._bar.total = total


def _short(value: Any) -> str:
    try:
        return f"{float(value):.4g}"
    except (TypeError, ValueError):
        return str(value)
