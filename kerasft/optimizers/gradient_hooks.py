"""Hooks that see (and may change) the gradients just before any Keras optimizer applies them.

Keras 3 optimizers have no gradient-transformer hook, so `add_gradient_hook` wraps the
optimizer instance's `apply` (the method `apply_gradients` and every `train_step` go through).
Hooks run in ascending `order`; they get the unscaled gradients (loss scaling removed) and the
variables, and return the gradients to apply. Built-in `clipnorm`/`clipvalue`/`global_clipnorm`
still run afterwards, inside `apply`.

The wrapper is traced into the train function, so call `model.make_train_function(force=True)`
after adding or removing a hook during `fit`.

Example:

    import keras
    from kerasft.optimizers.gradient_hooks import add_gradient_hook, remove_gradient_hook

    optimizer = keras.optimizers.SGD(0.1)
    hook = add_gradient_hook(optimizer, lambda grads, variables: [g * 0.5 for g in grads])
    remove_gradient_hook(optimizer, hook)
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import keras

from kerasft import compat
from kerasft.optimizers._inner import inner_optimizer

GradientHook = Callable[[list, list], Sequence]

_HOOKS = "_kerasft_gradient_hooks"
_PRIOR_APPLY = "_kerasft_prior_apply"
_ids = itertools.count()


def _wrapped_apply(optimizer, original):
    def apply(grads, trainable_variables=None):
        hooks = sorted(getattr(optimizer, _HOOKS, {}).values(), key=lambda h: h[:2])
        variables = (
            list(trainable_variables)
            if trainable_variables is not None
            else compat.optimizer_built_variables(optimizer)
        )
        grads = list(grads)
        scale = optimizer.loss_scale_factor
        if scale is not None:
            grads = [None if g is None else g / scale for g in grads]
        for _, _, hook in hooks:
            grads = list(hook(grads, variables))
        if scale is not None:
            grads = [None if g is None else g * scale for g in grads]
        return original(grads, trainable_variables)

    return apply


def add_gradient_hook(
    optimizer: keras.optimizers.Optimizer, hook: GradientHook, order: int = 0
) -> int:
    """Run `hook(grads, variables) -> grads` before each update; returns an id for removal.

    A `LossScaleOptimizer` gets the hook on its inner optimizer, which sees unscaled, finite
    gradients. Lower `order` runs first.

    Args:
        optimizer: the optimizer whose updates the hook sees.
        hook: a function `(grads, variables) -> grads`.
        order: the hook's place among the optimizer's hooks, lowest first.
    """
    optimizer = inner_optimizer(optimizer)
    hooks = optimizer.__dict__.get(_HOOKS)
    if hooks is None:
        hooks = {}
        # object.__setattr__: keep Keras/TF attribute tracking away from plain Python state.
        object.__setattr__(optimizer, _HOOKS, hooks)
        object.__setattr__(optimizer, _PRIOR_APPLY, optimizer.__dict__.get("apply"))
        object.__setattr__(optimizer, "apply", _wrapped_apply(optimizer, optimizer.apply))
    hook_id = next(_ids)
    hooks[hook_id] = (order, hook_id, hook)
    return hook_id


def remove_gradient_hook(optimizer: keras.optimizers.Optimizer, hook_id: int) -> None:
    """Remove a hook; the optimizer's own `apply` comes back when none is left.

    Args:
        optimizer: the optimizer the hook was added to.
        hook_id: the id `add_gradient_hook` returned.
    """
    optimizer = inner_optimizer(optimizer)
    hooks = optimizer.__dict__.get(_HOOKS)
    if not hooks:
        return
    hooks.pop(hook_id, None)
    if not hooks:
        prior = optimizer.__dict__.get(_PRIOR_APPLY)
        if prior is None:
            object.__delattr__(optimizer, "apply")
        else:
            object.__setattr__(optimizer, "apply", prior)
        object.__delattr__(optimizer, _HOOKS)
        object.__delattr__(optimizer, _PRIOR_APPLY)


def global_norm(grads: Sequence) -> keras.KerasTensor:
    """The L2 norm of all gradients together (None gradients skipped), in float32.

    Args:
        grads: the gradients (tensors or None).
    """
    squares = [
        keras.ops.sum(keras.ops.square(keras.ops.cast(g, "float32")))
        for g in grads
        if g is not None
    ]
    if not squares:
        return keras.ops.zeros((), "float32")
    return keras.ops.sqrt(keras.ops.sum(keras.ops.stack(squares)))
