"""Freeze and unfreeze whole backbone blocks; BatchNorm stays frozen unless asked.

Works on `kft.build` models (the nested backbone is frozen block by block, the head stays
trainable) and on any plain `keras.Model` (treated as its own backbone).
"""

from __future__ import annotations

import math

import keras

from kerasft import compat
from kerasft.backbones.adapters import adapters, is_lora_layer
from kerasft.backbones.blocks import block_map
from kerasft.builder.build import get_backbone
from kerasft.errors import KerasftError, unknown_name

_BATCHNORM = (keras.layers.BatchNormalization,)
# Normalisation layers follow `train_bn`: frozen inside an unfrozen block unless asked. Layer
# norms keep no statistics, so only whether gamma/beta train is at stake.
_NORMS = (keras.layers.BatchNormalization, keras.layers.LayerNormalization)


def _blocks(model: keras.Model):
    return block_map(get_backbone(model))


def _head_and_input_layers(model: keras.Model) -> list[keras.layers.Layer]:
    backbone = get_backbone(model)
    return [] if backbone is model else [layer for layer in model.layers if layer is not backbone]


def outer_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The layers of `model` outside its backbone that train (the head), fixed ones left out.

    Args:
        model: a `kft.build` model (or a model whose backbone `kft.get_backbone` finds).
    """
    return [
        layer for layer in _head_and_input_layers(model) if not layer.name.startswith(FIXED_PREFIX)
    ]


def _has_lora(layer: keras.layers.Layer) -> bool:
    return any(is_lora_layer(inner) for inner in compat.sublayers(layer, include_self=True))


def _adapters_only(layer: keras.layers.Layer, train: bool) -> None:
    """Let `layer` (a layer of a block) train its LoRA adapters and nothing else, or nothing."""
    layer.trainable = train  # sets every sub-layer and variable; the loop below refreezes
    if not train:
        return
    for inner in compat.sublayers(layer, include_self=True):
        if is_lora_layer(inner):
            keep = adapters(inner)
            for variable in inner.weights:
                variable.trainable = any(variable is a for a in keep)
        elif not _has_lora(inner):
            if isinstance(inner, _NORMS):
                freeze_batchnorm(inner)
            else:
                inner.trainable = False


def freeze(model: keras.Model) -> keras.Model:
    """Freeze the whole backbone; the head (and nothing in preprocessing) stays trainable.

    Args:
        model: a `kft.build` model (or a model whose backbone `kft.get_backbone` finds).

    Example:

    >>> import kerasft as kft
    >>> model = kft.build("mobilenet", 3, input_shape=(32, 32, 3), weights=None)
    >>> kft.freeze(model) is model
    True
    """
    backbone = get_backbone(model)
    backbone.trainable = False
    _restore_fixed_layers(model)
    return model


FIXED_PREFIX = "kft_channels"  # the builder's fixed grayscale/RGBA/BGR projection


def _restore_fixed_layers(model: keras.Model) -> None:
    # Everything outside the backbone (a kft head, or a user's own head) trains; only the
    # builder's fixed channel projection never does.
    for layer in _head_and_input_layers(model):
        layer.trainable = not layer.name.startswith(FIXED_PREFIX)


def _select(model, blocks, from_block, fraction) -> list[str]:
    names = list(_blocks(model))
    given = [v is not None for v in (blocks, from_block, fraction)]
    if sum(given) != 1:
        raise KerasftError(
            "unfreeze() takes exactly one of blocks=N, from_block=NAME or fraction=F "
            f"(got blocks={blocks!r}, from_block={from_block!r}, fraction={fraction!r})."
        )
    if blocks is not None:
        if blocks == "all":
            return names
        if not isinstance(blocks, int) or blocks < 0:
            raise KerasftError(
                f"blocks={blocks!r} must be a non-negative integer or 'all' "
                f"(this backbone has {len(names)} blocks: {', '.join(names)})."
            )
        return names[len(names) - min(blocks, len(names)) :]
    if from_block is not None:
        if from_block not in names:
            raise unknown_name("block", from_block, names)
        return names[names.index(from_block) :]
    if not 0.0 <= fraction <= 1.0:
        raise KerasftError(f"fraction={fraction!r} must be between 0 and 1.")
    return names[len(names) - math.ceil(fraction * len(names)) :]


def unfreeze(
    model: keras.Model,
    blocks: int | str | None = None,
    *,
    from_block: str | None = None,
    fraction: float | None = None,
    train_bn: bool = False,
    lora: bool | None = None,
) -> list[str]:
    """Unfreeze the top blocks of the backbone; returns the names of the trainable blocks.

    Args:
        model: a `kft.build` model or any `keras.Model`.
        blocks: how many blocks, counted from the top, or "all".
        from_block: unfreeze this block and every block above it.
        fraction: unfreeze this fraction of the blocks (rounded up), from the top.
        train_bn: also let the chosen blocks' BatchNorm and LayerNormalization gamma/beta
            train (a transformer layer's own layer norms included). BatchNorm stays in
            inference mode either way, so its moving statistics never change (see
            `freeze_batchnorm`). Ignored with LoRA.
        lora: True: in the chosen blocks only the LoRA adapters train (`kft.enable_lora`);
            kernels, biases and norms stay frozen, and so do the layers without adapters.
            False: the chosen blocks train whole, adapters included. None (the default):
            True when the backbone has LoRA adapters.

    Remember to `compile` again afterwards: Keras only trains what was trainable at compile.

    Example:

    >>> import kerasft as kft
    >>> model = kft.build("mobilenet", 3, input_shape=(32, 32, 3), weights=None)
    >>> kft.unfreeze(model, blocks=2)
    ['block_12', 'block_13']
    """
    chosen = _select(model, blocks, from_block, fraction)
    backbone = get_backbone(model)
    has_lora = _has_lora(backbone)
    if lora and not has_lora:
        raise KerasftError(
            f"unfreeze(lora=True): backbone {backbone.name!r} has no LoRA adapters. Call "
            "kft.enable_lora(model, rank) first, or pass lora=None."
        )
    lora = has_lora if lora is None else bool(lora)
    backbone.trainable = True  # sets every sub-layer; the loop below refreezes
    for name, layers in _blocks(model).items():
        for layer in layers:
            if lora:
                _adapters_only(layer, name in chosen)
                continue
            if isinstance(layer, _NORMS):
                freeze_batchnorm(layer, train_affine=train_bn and name in chosen)
                continue
            layer.trainable = name in chosen
            # A transformer layer holds its layer norms inside it.
            for inner in compat.sublayers(layer, include_self=True):
                if isinstance(inner, _NORMS):
                    freeze_batchnorm(inner, train_affine=train_bn and name in chosen)
                elif is_lora_layer(inner):
                    # LoRA froze the kernel variable itself, and a layer's `trainable`
                    # flag does not reach its variables again unless the flag changes.
                    for variable in inner.weights:
                        variable.trainable = name in chosen
    _restore_fixed_layers(model)
    return chosen


def freeze_batchnorm(layer: keras.layers.Layer, train_affine: bool = False) -> None:
    """Keep a BatchNorm layer in inference mode; with `train_affine`, gamma/beta still train.

    Keras 3 passes `fit`'s `training=True` on to every nested call, over the backbone's
    `training=False`, and a trainable BatchNorm then normalizes with batch statistics and
    updates its moving ones. A frozen BatchNorm always runs in inference mode, and Keras
    collects a model's trainable variables by each variable's own flag, so marking only
    gamma and beta trainable trains them against the fixed moving statistics. A saved model
    records the layer as frozen: reloaded, it runs in inference mode and trains nothing, and
    Keras skips the saved optimizer state (which covered gamma and beta) with a warning.

    Example:

    >>> import keras
    >>> from kerasft.freezing import freeze_batchnorm
    >>> bn = keras.layers.BatchNormalization()
    >>> bn.build((None, 4))
    >>> freeze_batchnorm(bn, train_affine=True)
    >>> bn.trainable, bn.gamma.trainable, bn.moving_mean.trainable
    (False, True, False)
    """
    layer.trainable = False  # also marks gamma and beta untrainable
    for variable in (getattr(layer, "gamma", None), getattr(layer, "beta", None)):
        if train_affine and variable is not None:
            variable.trainable = True


def trainable_blocks(model: keras.Model) -> list[str]:
    """Names of the blocks that have at least one trainable weight.

    Args:
        model: a `kft.build` model (or a model whose backbone `kft.get_backbone` finds).
    """
    return [
        name
        for name, layers in _blocks(model).items()
        if any(w.trainable for layer in layers for w in layer.weights)
    ]


def _row(name: str, layers: list[keras.layers.Layer]) -> dict:
    def count(weights):
        return sum(math.prod(w.shape) for w in weights)

    # By each weight's own flag, as Keras trains them: a frozen BatchNorm may train gamma/beta.
    weights = [w for layer in layers for w in layer.weights]
    return {
        "block": name,
        "trainable": count(w for w in weights if w.trainable),
        "non_trainable": count(w for w in weights if not w.trainable),
    }


def block_table(model: keras.Model) -> list[dict]:
    """One row per block (and one for the head): trainable / non-trainable parameter counts."""
    rows = [_row(name, layers) for name, layers in _blocks(model).items()]
    head = _head_and_input_layers(model)
    if head:
        rows.append(_row("head", head))
    return rows


def summary(model: keras.Model, print_fn=print) -> list[dict]:
    """Print a table of blocks with trainable / non-trainable parameter counts; return its rows.

    Args:
        model: a `kft.build` model (or a model whose backbone `kft.get_backbone` finds).
        print_fn: called with each line of the table (e.g. a logger's `info`).
    """
    rows = block_table(model)
    width = max(len("block"), *(len(r["block"]) for r in rows))
    print_fn(f"{'block':<{width}}  {'trainable':>12}  {'non-trainable':>14}")
    for r in rows:
        print_fn(f"{r['block']:<{width}}  {r['trainable']:>12,}  {r['non_trainable']:>14,}")
    total_t = sum(r["trainable"] for r in rows)
    total_n = sum(r["non_trainable"] for r in rows)
    print_fn(f"{'total':<{width}}  {total_t:>12,}  {total_n:>14,}")
    return rows
