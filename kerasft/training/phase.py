"""`Phase`: one step of a fine-tuning plan, and `current_phase(model)`, how callbacks learn it.

`kft.fine_tune` builds a plan of phases (phase 1 trains the head, phase 2 the top blocks)
and runs each as one `fit` call. While a phase runs, `current_phase(model)` returns it for
the model `fine_tune` was given, so a callback (bound to that model in both the plain and
the cached runner) reads the phase number, the epochs it spans and its learning rate
without any attribute written on the user's model.
"""

from __future__ import annotations

import contextlib
import dataclasses
import weakref

import keras

_RUNNING: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@dataclasses.dataclass(frozen=True)
class Phase:
    """One phase of a fine-tuning plan: what trains, for which epochs, at which rate.

    Args:
        number: 1 (the head, backbone frozen) or 2 (the top blocks unfrozen).
        first_epoch: the epoch the phase starts at (`fit`'s `initial_epoch`): epochs are
            numbered across phases, so phase 2 starts where phase 1 ended.
        last_epoch: the epoch the phase ends before (`fit`'s `epochs`).
        total_epochs: the epochs of the whole plan (progress bars span every phase).
        lr: the learning rate the phase is compiled with.
        unfreeze_blocks: the backbone blocks that train (0 in phase 1, an int or "all").
        train_bn: whether BatchNorm gamma/beta train (its statistics never do).
        runner: how the phase runs: "fit" (the model's own `fit`) or "cached" (the
            trainable part on features computed once, see `kerasft.cache.runner`).

    Example:

    >>> from kerasft.training import Phase
    >>> phase = Phase(2, first_epoch=3, last_epoch=5, total_epochs=5, lr=1e-4)
    >>> phase.epochs
    2
    """

    number: int
    first_epoch: int
    last_epoch: int
    total_epochs: int
    lr: float
    unfreeze_blocks: int | str = 0
    train_bn: bool = False
    runner: str = "fit"

    @property
    def epochs(self) -> int:
        """How many epochs the phase trains."""
        return self.last_epoch - self.first_epoch


def current_phase(model: keras.Model | None) -> Phase | None:
    """The phase `kft.fine_tune` is running on `model`, or None outside `fine_tune`.

    Args:
        model: the model given to `fine_tune` (what `self.model` is in a callback).

    Example:

    >>> import keras
    >>> from kerasft.training import Phase, current_phase, running_phase
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> with running_phase(model, Phase(1, 0, 2, total_epochs=4, lr=1e-3)):
    ...     current_phase(model).number
    1
    >>> current_phase(model) is None
    True
    """
    if model is None:
        return None
    try:
        return _RUNNING.get(model)
    except TypeError:  # an object that cannot be weakly referenced runs no phase
        return None


@contextlib.contextmanager
def running_phase(model: keras.Model, phase: Phase):
    """Make `current_phase(model)` return `phase` inside the `with` block.

    `fine_tune` wraps each phase's `fit` in it; use it to drive a callback by hand (a
    test, or a custom training loop).

    Args:
        model: the model the phase trains.
        phase: the `Phase` it runs.
    """
    previous = _RUNNING.get(model)
    _RUNNING[model] = phase
    try:
        yield phase
    finally:
        if previous is None:
            _RUNNING.pop(model, None)
        else:
            _RUNNING[model] = previous
