"""`CallbackRelay`: user callbacks see the full model while a cut of it trains."""

from __future__ import annotations

import keras

from kerasft import compat

_HOOKS = (
    "on_epoch_begin",
    "on_epoch_end",
    "on_train_batch_begin",
    "on_train_batch_end",
    "on_test_begin",
    "on_test_end",
    "on_test_batch_begin",
    "on_test_batch_end",
    "on_predict_begin",
    "on_predict_end",
    "on_predict_batch_begin",
    "on_predict_batch_end",
)


class CallbackRelay(keras.callbacks.Callback):
    """Relays every callback event from the model that trains (`runner`) to `callbacks`
    bound to `model`, and `model.stop_training` back to the runner.

    A checkpoint then saves the full model (raw images in), EarlyStopping restores the full
    model's weights, and a learning-rate callback reaches the shared optimizer.

    Example:

    >>> import keras
    >>> from kerasft.cache.relay import CallbackRelay
    >>> full = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> stop = keras.callbacks.EarlyStopping(patience=0)
    >>> relay = CallbackRelay([stop], model=full, runner=full)
    >>> stop.model is full
    True
    """

    def __init__(self, callbacks, model: keras.Model, runner: keras.Model):
        super().__init__()
        # A plain list, not a `CallbackList`: that one copies `logs` for each event, so what a
        # relayed callback adds to the logs (a gradient norm, a learning rate) would never
        # reach the runner's History, CSV logger or progress bar.
        self.relayed = list(callbacks or [])
        for callback in self.relayed:
            callback.set_model(model)
        self.target = model
        self.runner = runner

    def set_model(self, model):
        super().set_model(model)  # the runner; the relayed callbacks keep the full model
        for callback in self.relayed:
            callback.set_model(self.target)

    def set_params(self, params):
        super().set_params(params)
        for callback in self.relayed:
            callback.set_params(params)

    def _sync(self):
        if getattr(self.target, "stop_training", False):
            self.runner.stop_training = True

    def on_train_begin(self, logs=None):
        self.target.stop_training = False
        for callback in self.relayed:
            callback.on_train_begin(logs)
        # BackupAndRestore (bound to the full model) sets the epoch to resume from on the
        # model it restored; the runner is the one whose `fit` loop reads it.
        resume = compat.resume_epoch(self.target)
        if resume is not None:
            compat.set_resume_epoch(self.runner, resume)
            compat.set_resume_epoch(self.target, None)
        self._sync()

    def on_train_end(self, logs=None):
        for callback in self.relayed:
            callback.on_train_end(logs)

    def get_config(self):
        return {}


def _relay(name):
    def hook(self, *args, **kwargs):
        for callback in self.relayed:
            getattr(callback, name)(*args, **kwargs)
        self._sync()

    hook.__name__ = name
    return hook


for _name in _HOOKS:
    setattr(CallbackRelay, _name, _relay(_name))
