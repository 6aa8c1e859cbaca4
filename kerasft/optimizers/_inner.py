"""Reach the optimizer that really updates the weights (inside a `LossScaleOptimizer`)."""

from __future__ import annotations

import keras

from kerasft.errors import KerasftError


def inner_optimizer(optimizer: keras.optimizers.Optimizer) -> keras.optimizers.Optimizer:
    """`optimizer`, or the optimizer a `LossScaleOptimizer` wraps (it sees unscaled gradients)."""
    while hasattr(optimizer, "inner_optimizer"):
        optimizer = optimizer.inner_optimizer
    return optimizer


def model_optimizer(model: keras.Model, who: str) -> keras.optimizers.Optimizer:
    """The compiled optimizer of `model`, or a clear error naming the caller."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        raise KerasftError(
            f"{who} needs a compiled model: call model.compile(optimizer=..., loss=...) before fit."
        )
    return optimizer
