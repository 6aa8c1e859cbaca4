"""`kft.compile`: compile a model with the defaults a fine-tuning run wants."""

from __future__ import annotations

import keras

from kerasft.errors import KerasftError
from kerasft.optimizer_names import OPTIMIZERS
from kerasft.training.devices import default_jit_compile
from kerasft.training.tasks import default_loss, default_metrics, infer_task, output_activation


def make_optimizer(optimizer, learning_rate, **kwargs) -> keras.optimizers.Optimizer:
    """A fresh optimizer from a name, a config dict or an instance (whose config is copied).

    A new instance per phase matters: the phase-2 optimizer must track the newly trainable
    variables and start with clean moments.
    """
    if isinstance(optimizer, keras.optimizers.Optimizer):
        config = optimizer.get_config()
        config.update(learning_rate=learning_rate, **kwargs)
        return optimizer.__class__.from_config(config)
    if isinstance(optimizer, dict):
        config = dict(optimizer.get("config", {}), learning_rate=learning_rate, **kwargs)
        return keras.optimizers.get({"class_name": optimizer["class_name"], "config": config})
    name = str(optimizer).lower()
    if name not in OPTIMIZERS:
        from kerasft.errors import unknown_name

        raise unknown_name("optimizer", name, OPTIMIZERS)
    if name == "sgd":
        kwargs.setdefault("momentum", 0.9)
    return keras.optimizers.get(
        {"class_name": name, "config": {"learning_rate": learning_rate, **kwargs}}
    )


def compile(  # noqa: A001 - mirrors keras.Model.compile
    model: keras.Model,
    lr: float = 1e-3,
    *,
    optimizer="adam",
    loss=None,
    metrics=None,
    label_smoothing: float = 0.1,
    jit_compile: bool | None = None,
    **optimizer_kwargs,
) -> keras.Model:
    """Compile `model` with a fresh optimizer and the task's default loss and metrics.

    Args:
        model: the model to compile (a `kft.build` model or any Keras model).
        lr: the learning rate.
        optimizer: an optimizer name ("adam", "sgd", ...), a Keras optimizer config dict, or
            an optimizer instance (its config is copied into a fresh one).
        loss: the loss; by default the task's (cross-entropy with `label_smoothing`, or MSE).
        metrics: the metrics; by default the task's ("accuracy", or "mae" for regression).
        label_smoothing: label smoothing of the default classification loss.
        jit_compile: XLA compilation; by default on only when a GPU is present.
        **optimizer_kwargs: passed to the optimizer's constructor (e.g. `weight_decay`).

    Example:

    >>> import kerasft as kft
    >>> model = kft.build("mobilenet", 3, input_shape=(32, 32, 3), weights=None)
    >>> type(kft.compile(model, lr=1e-3).optimizer).__name__
    'Adam'
    """
    if not lr or lr <= 0:
        raise KerasftError(f"lr={lr!r}: the learning rate must be a positive number, e.g. 1e-3.")
    task = infer_task(model)
    # A classifier with a linear output (its loss said so) trains and scores on logits.
    logits = task != "regression" and output_activation(model) in (None, "linear")
    model.compile(
        optimizer=make_optimizer(optimizer, lr, **optimizer_kwargs),
        loss=loss or default_loss(task, label_smoothing, from_logits=logits),
        metrics=metrics if metrics is not None else default_metrics(task, from_logits=logits),
        jit_compile=default_jit_compile() if jit_compile is None else jit_compile,
    )
    return model
