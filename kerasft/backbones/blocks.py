"""Block maps: a backbone's layers grouped into ordered, named blocks.

Blocks are the unit of freezing: `kft.unfreeze(model, blocks=2)` unfreezes the top two.
A block map is read from layer names (`conv_dw_5` belongs to MobileNet's `block_5`); a model
with no recognised naming is split into even groups of its weighted layers.
"""

from __future__ import annotations

import re
from collections import OrderedDict

import keras

from kerasft.backbones.spec import BlockPattern

STEM = "stem"
TOP = "top"


def _label(name: str, patterns: tuple[BlockPattern, ...]) -> tuple[str, bool] | None:
    for pattern in patterns:
        match = re.search(pattern.regex, name)
        if match:
            group = next((g for g in match.groups() if g), "")
            return pattern.label.format(group), pattern.boundary
    return None


def _map_by_patterns(
    layers: list[keras.layers.Layer], patterns: tuple[BlockPattern, ...]
) -> OrderedDict[str, list[keras.layers.Layer]]:
    labels: list[str | None] = []
    pending: list[int] = []  # boundary mode: layers waiting for the match that closes their block
    current: str | None = None
    for i, layer in enumerate(layers):
        found = _label(layer.name, patterns)
        if found is None:
            labels.append(current)
            if current is None or any(p.boundary for p in patterns):
                pending.append(i)
            continue
        label, boundary = found
        labels.append(label)
        if boundary:
            for j in pending:
                labels[j] = label
            pending = []
        elif current is None:
            for j in pending:
                labels[j] = STEM
            pending = []
        current = label
    # Unlabelled layers after the last match (a ResNetV2's post_bn, MobileNetV2's Conv_1) are
    # the top of the backbone, not part of its last block.
    last_match = max(
        (i for i, layer in enumerate(layers) if _label(layer.name, patterns)), default=-1
    )
    blocks: OrderedDict[str, list[keras.layers.Layer]] = OrderedDict()
    for i, (layer, label) in enumerate(zip(layers, labels)):
        if i > last_match:
            label = TOP
        elif label is None:
            label = STEM
        blocks.setdefault(label, []).append(layer)
    # A top of only normalisation and activations (ResNetV2's post_bn, ConvNeXt's last layer
    # norm) trains nothing while norms stay frozen, so it belongs with the last real block.
    if TOP in blocks and len(blocks) > 1 and not _trainable_kinds(blocks[TOP]):
        top = blocks.pop(TOP)
        blocks[next(reversed(blocks))].extend(top)
    return blocks


def _trainable_kinds(layers: list[keras.layers.Layer]) -> list[keras.layers.Layer]:
    # Normalisation layers train only with train_bn (`kft.unfreeze`).
    norms = (keras.layers.BatchNormalization, keras.layers.LayerNormalization)
    return [layer for layer in layers if layer.weights and not isinstance(layer, norms)]


def _is_input(layer: keras.layers.Layer) -> bool:
    return isinstance(layer, keras.layers.InputLayer)


def _even_split(
    layers: list[keras.layers.Layer], groups: int
) -> OrderedDict[str, list[keras.layers.Layer]]:
    weighted = [i for i, layer in enumerate(layers) if layer.weights]
    if not weighted:
        return OrderedDict([("block_1", list(layers))])
    groups = max(1, min(groups, len(weighted)))
    # Cut points fall on weighted layers so every block owns some weights.
    starts = [weighted[round(k * len(weighted) / groups)] for k in range(groups)]
    starts[0] = 0
    blocks: OrderedDict[str, list[keras.layers.Layer]] = OrderedDict()
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < groups else len(layers)
        blocks[f"block_{k + 1}"] = list(layers[start:end])
    return blocks


def _coverage(blocks: OrderedDict[str, list[keras.layers.Layer]]) -> float:
    weighted = [layer for group in blocks.values() for layer in group if layer.weights]
    named = [
        layer
        for label, group in blocks.items()
        if label not in (STEM, TOP)
        for layer in group
        if layer.weights
    ]
    return len(named) / max(1, len(weighted))


def block_map(
    backbone: keras.Model,
    patterns: tuple[BlockPattern, ...] | None = None,
    groups: int = 8,
) -> OrderedDict[str, list[keras.layers.Layer]]:
    """Ordered `{block_name: [layers]}` for `backbone`, bottom to top.

    Args:
        backbone: any `keras.Model` (a `keras.applications` model or your own).
        patterns: naming patterns; by default the registered family's patterns, else every
            known family's patterns are tried and the one that names most weighted layers
            wins; if none names at least half of them, the layers are split evenly.
        groups: the number of blocks of the even split.

    Example:

    >>> import keras, kerasft as kft
    >>> net = keras.applications.MobileNet(weights=None, include_top=False, input_shape=(64, 64, 3))
    >>> list(kft.backbones.block_map(net))[-2:]
    ['block_12', 'block_13']
    """
    layers = [layer for layer in backbone.layers if not _is_input(layer)]
    if patterns is None:
        from kerasft.backbones.registry import REGISTRY

        spec = REGISTRY.get(getattr(backbone, "_kerasft_backbone", None))
        if spec is not None:  # built by kft.build in this process: no guessing needed
            return _map_by_patterns(layers, spec.blocks)
        # Otherwise the family whose patterns name most weighted layers wins, and among equals
        # the finer map (MobileNetV3's layers also fit MobileNetV2's `expanded_conv` pattern).
        from kerasft.backbones.bert import BERT_BLOCKS

        candidates = list(dict.fromkeys(spec.blocks for spec in REGISTRY.values()))
        candidates.append(BERT_BLOCKS)
        scored = []
        for candidate in candidates:
            blocks = _map_by_patterns(layers, candidate)
            scored.append((_coverage(blocks), len(blocks), -len(scored), blocks))
        coverage, _, _, best = max(scored, key=lambda item: item[:3])
        if coverage >= 0.5:
            return best
        return _even_split(layers, groups)
    return _map_by_patterns(layers, patterns)
