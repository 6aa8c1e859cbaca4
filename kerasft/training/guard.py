"""The recompile guardrail.

Keras trains only what was trainable when `compile` ran; flipping `trainable` afterwards and
calling `fit` again silently trains the old set. Keras 3's own warning for this never fires,
so kerasft checks before training.
"""

from __future__ import annotations

import warnings

import keras

from kerasft import compat


def stale_layers(model: keras.Model) -> list[str]:
    """Names of layers whose `trainable` flag changed since the model was last compiled."""
    compiled = compat.compiled_trainable_state(model)
    if not getattr(model, "compiled", False) or compiled is None:
        return []
    return [
        layer.name
        for layer in compat.sublayers(model, include_self=True)
        if layer in compiled and compiled[layer] != layer.trainable
    ]


def warn_if_stale_compile(model: keras.Model) -> bool:
    """Warn (and return True) when trainability changed after `compile` without a recompile."""
    changed = stale_layers(model)
    if changed:
        shown = ", ".join(changed[:8]) + (
            f" and {len(changed) - 8} more" if len(changed) > 8 else ""
        )
        warnings.warn(
            f"kerasft: the trainable state of {len(changed)} layer(s) changed after the model was "
            f"compiled ({shown}). Keras will keep training the old set of weights. Call "
            "model.compile(...) (or kft.compile(model, lr=...)) again before fit().",
            UserWarning,
            stacklevel=3,
        )
    return bool(changed)


class RecompileGuard(keras.callbacks.Callback):
    """Warns at the start of `fit` if layers were (un)frozen after the last `compile`.

    Example:

    >>> import keras, numpy as np, kerasft as kft
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    >>> model.compile("adam", "mse")
    >>> model.layers[0].trainable = False
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = model.fit(np.zeros((8, 4)), np.zeros((8, 2)), callbacks=[kft.RecompileGuard()],
    ...                   verbose=0)
    >>> any("trainable state of 1 layer(s) changed" in str(w.message) for w in caught)
    True
    """

    def on_train_begin(self, logs=None):
        warn_if_stale_compile(self.model)

    def get_config(self):
        return {}
