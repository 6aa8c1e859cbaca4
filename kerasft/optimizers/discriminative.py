"""Discriminative learning rates: a learning-rate multiplier per layer group, for any optimizer.

fastai trains early layers with smaller steps than the head (`lr_mult`, `slice(lo, hi)`).
`discriminative_lr` gives any Keras optimizer that behaviour: it wraps the optimizer
instance's `update_step` so each variable is updated with `learning_rate * multiplier`, where
the multiplier comes from the variable's layer group. Everything else (the optimizer class,
its slots, clipping, LR schedules and callbacks that set the LR) is unchanged.

Notes:
    - Decoupled weight decay (AdamW's `weight_decay`) still uses the base learning rate.
    - Multipliers are not part of the optimizer's config: after `keras.models.load_model`,
      call `discriminative_lr` again.
    - The PyTorch backend's fused optimizers bypass `update_step`; they are refused.

Example:

    import keras
    from kerasft.optimizers import discriminative_lr

    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, name="body"),
                              keras.layers.Dense(1, name="head")])
    optimizer = discriminative_lr(keras.optimizers.Adam(1e-3), model, {"body": 0.1})
    model.compile(optimizer, "mse")   # "body" learns at 1e-4, "head" at 1e-3
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import keras

from kerasft import compat
from kerasft.errors import KerasftError
from kerasft.optimizers._inner import inner_optimizer
from kerasft.optimizers.layer_groups import _resolve_item, group_variables, layer_groups

_STATE = "_kerasft_discriminative"


def _check_multiplier(value, where: str) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        value = -1.0
    if not value > 0:
        raise KerasftError(f"Learning-rate multiplier {where} must be a positive number.")
    return value


def _layer_multipliers(model, multipliers, groups) -> list[tuple[list, float]]:
    if isinstance(multipliers, Mapping):
        if groups is not None:
            raise KerasftError(
                "Give multipliers either as a mapping {layer or prefix: multiplier} or as a "
                "sequence aligned with groups=..., not a mapping together with groups."
            )
        return [
            (_resolve_item(model, key), _check_multiplier(value, f"for {key!r} ({value!r})"))
            for key, value in multipliers.items()
        ]
    resolved = layer_groups(model, groups)
    if isinstance(multipliers, (int, float)):
        ratio = _check_multiplier(multipliers, f"spread {multipliers!r}")
        n = len(resolved)
        # Geometric, like fastai's slice(lr / ratio, lr): bottom group 1/ratio, top group 1.
        values = [ratio ** (-(n - 1 - i) / (n - 1)) if n > 1 else 1.0 for i in range(n)]
    elif isinstance(multipliers, Sequence) and not isinstance(multipliers, str):
        if len(multipliers) != len(resolved):
            raise KerasftError(
                f"Got {len(multipliers)} multipliers for {len(resolved)} layer groups; give one "
                "per group (bottom to top), or pass groups=[...] to choose the groups."
            )
        values = [_check_multiplier(v, f"#{i} ({v!r})") for i, v in enumerate(multipliers)]
    else:
        raise KerasftError(
            f"multipliers={multipliers!r} must be a number (bottom-to-top spread), a list "
            "(one per group) or a mapping {layer name or prefix: multiplier}."
        )
    return list(zip(resolved, values))


def discriminative_lr(
    optimizer: keras.optimizers.Optimizer,
    model: keras.Model,
    multipliers: float | Sequence[float] | Mapping[str, float],
    groups: Sequence | None = None,
) -> keras.optimizers.Optimizer:
    """Give `optimizer` per-layer-group learning-rate multipliers for `model`; returns it.

    Args:
        optimizer: any Keras optimizer, compiled or not (a `LossScaleOptimizer` too).
        model: the model whose layers the multipliers refer to.
        multipliers: one of
            - a number r: groups get multipliers spread geometrically from 1/r (bottom group)
              to 1 (top group), like fastai's `slice(lr / r, lr)`;
            - a list, one multiplier per group, bottom to top;
            - a mapping `{layer, layer name or name prefix: multiplier}`; later keys win.
        groups: the layer groups for a number or a list (see `layer_groups`); by default a
            `kft.build` model's backbone blocks plus its head, or even groups of any model's
            weighted layers.

    Variables in no group keep multiplier 1.
    """
    if keras.backend.backend() == "torch":
        raise KerasftError(
            "discriminative_lr needs the TensorFlow or JAX backend: the PyTorch backend's "
            "optimizers update all variables at once without `update_step`."
        )
    target = inner_optimizer(optimizer)
    layer_mults = _layer_multipliers(model, multipliers, groups)
    state = target.__dict__.get(_STATE)
    if state is None:
        state = {"layers": layer_mults, "by_key": None, "paths": {}}
        object.__setattr__(target, _STATE, state)
        original = target.update_step

        def update_step(gradient, variable, learning_rate):
            factor = _multiplier(target, state, variable)
            if factor != 1.0:
                learning_rate = learning_rate * factor
            return original(gradient, variable, learning_rate)

        object.__setattr__(target, "update_step", update_step)
    else:
        state.update(layers=layer_mults, by_key=None, paths={})
    return optimizer


def _resolve(target, state) -> None:
    by_key, paths = {}, {}
    for group, factor in state["layers"]:
        for variable in group_variables(group):
            by_key[compat.optimizer_variable_key(target, variable)] = factor
            paths[variable.path] = factor
    state["by_key"], state["paths"] = by_key, paths


def _multiplier(target, state, variable) -> float:
    # Resolved at trace time: layers may have no weights until the model is built.
    key = compat.optimizer_variable_key(target, variable)
    if state["by_key"] is None or key not in state["by_key"]:
        _resolve(target, state)
    return state["by_key"].get(key, 1.0)


def lr_multipliers(optimizer: keras.optimizers.Optimizer) -> dict[str, float]:
    """`{variable path: multiplier}` installed by `discriminative_lr` (empty if none).

    Args:
        optimizer: the optimizer `discriminative_lr` was applied to.
    """
    target = inner_optimizer(optimizer)
    state = target.__dict__.get(_STATE)
    if state is None:
        return {}
    _resolve(target, state)
    return dict(state["paths"])
