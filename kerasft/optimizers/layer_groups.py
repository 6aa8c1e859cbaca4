"""Ordered groups of layers (bottom to top): the unit of discriminative LRs and gradual unfreezing.

A group spec is a list, bottom to top, whose items are a layer, a layer name, a layer-name
prefix (`"conv_pw_1"` takes `conv_pw_1`, `conv_pw_1_bn`, ...) or a list of those. Without a spec,
a `kft.build` model is split into its backbone's blocks (`kerasft.backbones.block_map`) and
any other Keras model into even groups of its weighted layers.

Example:

    groups = layer_groups(model, [["conv1", "bn1"], "block2_", model.layers[-1]])
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import keras

from kerasft import compat
from kerasft.errors import KerasftError, did_you_mean

NORMALIZATION = (keras.layers.BatchNormalization,)


def walk(model: keras.Model) -> Iterator[tuple[keras.layers.Layer, keras.layers.Layer]]:
    """Every sub-layer of `model`, depth first, with its parent."""
    stack = [(child, model) for child in reversed(compat.sublayers(model, recursive=False))]
    seen = set()
    while stack:
        layer, parent = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        yield layer, parent
        children = compat.sublayers(layer, recursive=False)
        stack.extend((child, layer) for child in reversed(children))


def parents(model: keras.Model) -> dict[int, keras.layers.Layer]:
    """`id(layer) -> parent layer` for every sub-layer of `model`."""
    return {id(layer): parent for layer, parent in walk(model)}


def _resolve_name(model: keras.Model, name: str) -> list[keras.layers.Layer]:
    layers = [layer for layer, _ in walk(model)]
    exact = [layer for layer in layers if layer.name == name]
    if exact:
        return exact[:1]
    matched = [layer for layer in layers if layer.name.startswith(name)]
    if not matched:
        raise KerasftError(
            f"No layer of model {model.name!r} is named {name!r} or starts with it."
            f"{did_you_mean(name, [layer.name for layer in layers])} "
            "Give layers, layer names or name prefixes."
        )
    # A matched container already covers its matched children.
    ids = {id(layer) for layer in matched}
    parent_of = parents(model)

    def covered(layer):
        parent = parent_of.get(id(layer))
        while parent is not None and parent is not model:
            if id(parent) in ids:
                return True
            parent = parent_of.get(id(parent))
        return False

    return [layer for layer in matched if not covered(layer)]


def _resolve_item(model: keras.Model, item: Any) -> list[keras.layers.Layer]:
    if isinstance(item, keras.layers.Layer):
        return [item]
    if isinstance(item, str):
        return _resolve_name(model, item)
    if isinstance(item, Sequence):
        return [layer for sub in item for layer in _resolve_item(model, sub)]
    raise KerasftError(
        f"Cannot read a layer group from {item!r}: give a layer, a layer name, a name prefix "
        "or a list of those."
    )


def _default_groups(model: keras.Model, include_head: bool) -> list[list[keras.layers.Layer]]:
    try:
        from kerasft.backbones.blocks import block_map
        from kerasft.builder.build import get_backbone
    except ImportError:  # the builder is optional for plain Keras models
        weighted = [layer for layer in model.layers if layer.weights]
        return [[layer] for layer in weighted]
    backbone = get_backbone(model)
    groups = [list(layers) for layers in block_map(backbone).values()]
    if include_head and backbone is not model:
        head = [layer for layer in model.layers if layer is not backbone and layer.weights]
        if head:
            groups.append(head)
    return [group for group in groups if any(layer.weights for layer in group)]


def layer_groups(
    model: keras.Model, groups: Sequence | None = None, include_head: bool = True
) -> list[list[keras.layers.Layer]]:
    """Resolve a group spec (see module doc) to lists of layers, bottom to top.

    Args:
        model: any Keras model.
        groups: the spec, or None for the default split.
        include_head: with the default split of a `kft.build` model, add its head (the layers
            around the backbone) as the top group.
    """
    if groups is None:
        resolved = _default_groups(model, include_head)
    else:
        if isinstance(groups, (str, keras.layers.Layer)) or not isinstance(groups, Sequence):
            raise KerasftError(
                f"groups={groups!r} must be a list (bottom to top) of layers, names, prefixes "
                "or lists of those."
            )
        resolved = [_resolve_item(model, item) for item in groups]
    if not resolved:
        raise KerasftError(f"Model {model.name!r} has no weighted layers to group.")
    return resolved


def group_variables(group: Sequence[keras.layers.Layer]) -> list[keras.Variable]:
    """The weights of every layer in `group` (sub-layers included), without duplicates."""
    seen, out = set(), []
    for layer in group:
        for variable in layer.weights:
            if id(variable) not in seen:
                seen.add(id(variable))
                out.append(variable)
    return out
