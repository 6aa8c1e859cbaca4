"""LoRA adapters on a backbone's layers: which layers take them, adding them, reading them.

`kft.enable_lora` (`kerasft/lora.py`) and `kft.build(..., lora_rank=r)` add them through
`add_adapters`; `kft.unfreeze` reads them (`is_lora_layer`, `adapters`) to train them alone.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import keras

from kerasft import compat
from kerasft.errors import KerasftError

#: The attention projections LoRA goes on in a transformer (KerasHub's default targets:
#: Keras's `MultiHeadAttention` names them query/value, some KerasHub models
#: query_dense/value_dense).
ATTENTION_TARGETS = ("query", "value", "query_dense", "value_dense")
#: The layer types LoRA goes on in a backbone without attention projections.
IMAGE_TARGET_TYPES = (keras.layers.Conv2D, keras.layers.Dense)


def is_lora_layer(layer: keras.layers.Layer) -> bool:
    """Whether `layer` carries LoRA adapters (Keras's `enable_lora` was called on it).

    Args:
        layer: any layer.
    """
    return bool(getattr(layer, "lora_enabled", False))


def adapters(layer: keras.layers.Layer) -> list:
    """The LoRA adapter variables of `layer` (`lora_kernel_a`, `lora_kernel_b`), or [].

    Args:
        layer: any layer.
    """
    if not is_lora_layer(layer):
        return []
    return [layer.lora_kernel_a, layer.lora_kernel_b]


def _check_rank(rank) -> int:
    if isinstance(rank, bool) or not isinstance(rank, numbers.Integral) or rank <= 0:
        raise KerasftError(
            f"rank={rank!r}: a LoRA rank must be a positive integer, e.g. 4 or 8 (the "
            "adapters' inner dimension; 0 or None in fine_tune/build means no LoRA)."
        )
    return int(rank)


def _candidates(backbone: keras.Model) -> list[keras.layers.Layer]:
    return [
        layer
        for layer in compat.sublayers(backbone)
        if callable(getattr(layer, "enable_lora", None)) and not isinstance(layer, keras.Model)
    ]


def _targets(backbone: keras.Model, targets: Sequence[str] | None) -> list[keras.layers.Layer]:
    candidates = _candidates(backbone)
    if targets is None:
        # Only Embedding, Dense, EinsumDense and Conv layers have `enable_lora`.
        attention = [layer for layer in candidates if layer.name in ATTENTION_TARGETS]
        if attention:
            return attention
        return [layer for layer in candidates if isinstance(layer, IMAGE_TARGET_TYPES)]
    if isinstance(targets, str) or not all(isinstance(t, str) for t in targets):
        raise KerasftError(
            f"targets={targets!r}: pass a list of layer names, e.g. targets=['query', 'value']."
        )
    names = {layer.name for layer in candidates}
    missing = [t for t in targets if t not in names]
    if missing:
        from kerasft.errors import did_you_mean

        raise KerasftError(
            f"targets={list(targets)!r}: backbone {backbone.name!r} has no LoRA-capable layer "
            f"named {missing[0]!r}.{did_you_mean(missing[0], names)} LoRA goes on Dense, "
            "EinsumDense, Conv and Embedding layers; their names are in "
            "`[l.name for l in kerasft.compat.sublayers(kft.get_backbone(model))]`."
        )
    return [layer for layer in candidates if layer.name in targets]


def add_adapters(
    backbone: keras.Model,
    rank: int,
    *,
    targets: Sequence[str] | None = None,
    alpha: float | None = None,
) -> list[keras.layers.Layer]:
    """Put LoRA adapters of `rank` on `backbone`'s target layers; returns those layers.

    See `kft.enable_lora` (which calls this on a model's backbone) for the arguments.

    Args:
        backbone: a built Keras model (a `kft.build` model's backbone).
        rank: the adapters' inner dimension, a positive integer.
        targets: names of the layers to adapt, or None for the default targets.
        alpha: the adapters' scale is `alpha / rank`; by default `rank`.
    """
    rank = _check_rank(rank)
    layers = _targets(backbone, targets)
    if not layers:
        raise KerasftError(
            f"enable_lora: backbone {backbone.name!r} has no layer LoRA can go on (attention "
            f"projections named {', '.join(ATTENTION_TARGETS)}, or Conv2D/Dense layers). "
            "Pass targets=[layer names] of its Dense, EinsumDense or Conv layers."
        )
    other = sorted(
        {
            int(layer.lora_rank)
            for layer in [layer for layer in compat.sublayers(backbone) if is_lora_layer(layer)]
        }
        - {rank}
    )
    if other:
        raise KerasftError(
            f"enable_lora(rank={rank}): this model already has LoRA adapters of rank "
            f"{other[0]}. Pass rank={other[0]}, or kft.merge_lora(model) first and enable "
            "the new rank on the merged model."
        )
    for layer in layers:
        if is_lora_layer(layer):
            continue
        if not layer.built:
            raise KerasftError(
                f"enable_lora: layer {layer.name!r} is not built yet; call the model on data "
                "(or build it) first."
            )
        layer.enable_lora(rank, lora_alpha=alpha)
        # Keras makes new adapters trainable and freezes only the kernel: follow the layer's
        # own state instead, and let a trainable layer train its adapters alone.
        for variable in layer.weights:
            is_adapter = any(variable is a for a in adapters(layer))
            variable.trainable = layer.trainable and is_adapter
    return layers


def reseed_adapters(model: keras.Model, seed: int | None = None) -> int:
    """Give LoRA adapters zeroed by a weights load their starting values back; returns how many.

    Keras saves a LoRA layer's kernel with the adapters merged into it and, on load, zeroes
    both adapter matrices: the predictions stay right, but with A and B both zero neither gets
    a gradient again, so training (after a crash-safety backup is restored) would stop
    changing them. Re-drawing A as `enable_lora` does (He uniform) with B left at zero keeps
    every prediction (the product is still zero) and lets them train.

    Args:
        model: any model; layers without adapters, or whose A is not all zero, are left alone.
        seed: the seed of the draw.
    """
    import numpy as np

    count = 0
    initializer = keras.initializers.HeUniform(seed=seed)
    for layer in compat.sublayers(model):
        if not is_lora_layer(layer):
            continue
        a, b = adapters(layer)
        if np.any(keras.ops.convert_to_numpy(a)) or np.any(keras.ops.convert_to_numpy(b)):
            continue
        a.assign(initializer(a.shape, dtype=a.dtype))
        count += 1
    return count
