"""`FitRunner`: how a fine-tuning phase trains: the model's own `fit` on the prepared data.

`kft.fine_tune` hands every phase of its plan to one runner. This one is the plain path;
`kerasft.cache.CachedRunner` is the other (the trainable part of the model on features
computed once). A runner gets the phase, the data `fine_tune` already checked and
converted (`kerasft.training.inputs.Prepared`) and `fit`'s keyword arguments, and returns
the phase's `History`.
"""

from __future__ import annotations

import keras

from kerasft.training.inputs import Prepared
from kerasft.training.phase import Phase


class FitRunner:
    """Run each phase as `model.fit` on `fine_tune`'s prepared pipeline.

    Subclass it to change how a phase trains: override `run` (and `start`, called once
    before the first phase with the whole plan).

    Example:

    >>> import numpy as np, kerasft as kft
    >>> from kerasft.training import FitRunner
    >>> model = kft.build("mobilenet", 3, input_shape=(32, 32, 3), weights=None)
    >>> x, y = np.random.randint(0, 255, (16, 32, 32, 3)), np.arange(16) % 3
    >>> history = kft.fine_tune(model, (x, y), epochs=(1, 1), cache=FitRunner(), verbose=0)
    >>> history.epoch
    [0, 1]
    """

    name = "fit"

    def __init__(self):
        self.report: dict[int, str] = {}

    def start(self, model: keras.Model, plan: list[Phase], data: Prepared, verbose) -> None:
        """Called once before the first phase.

        Args:
            model: the model `fine_tune` trains.
            plan: every phase `fine_tune` will run, in order.
            data: the prepared train/validation data.
            verbose: `fine_tune`'s verbosity (0: silent).
        """
        self.report = {}

    def run(
        self, model: keras.Model, phase: Phase, data: Prepared, fit_kwargs: dict
    ) -> keras.callbacks.History:
        """Train one phase; the model is frozen/unfrozen and compiled for it already.

        Args:
            model: the model `fine_tune` trains.
            phase: the phase to run (its epochs are in `fit_kwargs` too).
            data: the prepared train/validation data.
            fit_kwargs: `epochs`, `initial_epoch`, `callbacks`, `class_weight`, `verbose`
                and `shuffle` for `fit`.
        """
        self.report[phase.number] = "fit"
        return model.fit(data.train, validation_data=data.val, **fit_kwargs)
