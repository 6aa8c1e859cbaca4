"""Log the global gradient norm of every training step."""

from __future__ import annotations

import keras
import numpy as np

from kerasft.errors import KerasftError
from kerasft.optimizers._inner import inner_optimizer, model_optimizer
from kerasft.optimizers.gradient_hooks import add_gradient_hook, global_norm, remove_gradient_hook


class GradientNormMonitor(keras.callbacks.Callback):
    """Write the global L2 norm of the gradients into the logs: per batch under `key`
    ("grad_norm"), and per epoch the mean (`key`) and maximum (`key + "_max"`) over its batches.

    How: a gradient hook on the compiled optimizer (see `kerasft.optimizers.add_gradient_hook`)
    stores the norm of the gradients the optimizer receives, in each real training step, into a
    variable the callback reads after the batch; no custom `train_step`, no extra forward pass.
    The norm is taken before any clipping (built-in or `GradientClipping`) and after loss-scale
    unscaling. With `steps_per_execution > 1`, each logged value is the last step's norm. On a
    multi-device strategy it is the norm of one replica's gradients.

    Put it before `CSVLogger`/`TensorBoard` in the callback list so they see the values.

    Args:
        key: the log key.

    Example:

    >>> import keras, numpy as np
    >>> import kerasft as kft
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    >>> model.compile(keras.optimizers.SGD(0.01), "mse")
    >>> history = model.fit(np.ones((16, 4)), np.ones((16, 1)), epochs=2, verbose=0,
    ...                     callbacks=[kft.callbacks.GradientNormMonitor()])
    >>> sorted(k for k in history.history if k.startswith("grad_norm"))
    ['grad_norm', 'grad_norm_max']
    """

    def __init__(self, key: str = "grad_norm"):
        super().__init__()
        self.key = key
        self.norms: list[float] = []
        self._epoch_norms: list[float] = []
        self._variable = None
        self._hook = None
        self._optimizer = None

    def _record(self, grads, variables):
        self._variable.assign(global_norm(grads))
        return grads

    def on_train_begin(self, logs=None):
        if keras.backend.backend() == "jax":
            raise KerasftError(
                "GradientNormMonitor needs the TensorFlow or PyTorch backend: JAX's stateless "
                "train step cannot write the norm into a variable."
            )
        self._optimizer = inner_optimizer(model_optimizer(self.model, "GradientNormMonitor"))
        if self._variable is None:
            self._variable = keras.Variable(
                0.0, dtype="float32", trainable=False, name="kft_grad_norm"
            )
        self._hook = add_gradient_hook(self._optimizer, self._record, order=-10)
        self.norms = []
        self.model.make_train_function(force=True)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_norms = []

    def on_train_batch_end(self, batch, logs=None):
        value = float(keras.ops.convert_to_numpy(self._variable.value))
        self._epoch_norms.append(value)
        self.norms.append(value)
        if logs is not None:
            logs[self.key] = value

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and self._epoch_norms:
            logs[self.key] = float(np.mean(self._epoch_norms))
            logs[f"{self.key}_max"] = float(np.max(self._epoch_norms))

    def on_train_end(self, logs=None):
        if self._hook is not None:
            remove_gradient_hook(self._optimizer, self._hook)
            self._hook = None
            self.model.make_train_function(force=True)

    def get_config(self) -> dict:
        return {"key": self.key}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)
