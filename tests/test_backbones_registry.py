"""Every registered backbone builds, has an ordered block map, and freezes block by block."""

from __future__ import annotations

import keras
import pytest

import kerasft as kft
from kerasft.backbones import registry
from kerasft.errors import KerasftError


def _weight_ids(layers):
    return {id(w) for layer in layers for w in layer.weights}


@pytest.mark.parametrize("name", kft.backbones.list())
def test_every_backbone_builds_and_freezes_by_block(name):
    spec = kft.backbones.get(name)
    size = max(spec.min_size, 32)
    model = kft.build(name, 4, input_shape=(size, size, 3), weights=None)
    assert model.output_shape == (None, 4)
    backbone = kft.get_backbone(model)
    blocks = kft.backbones.block_map(backbone, spec.blocks)
    assert len(blocks) >= 3, list(blocks)
    # Ordered bottom to top: each block's first layer comes after the previous block's.
    order = {id(layer): i for i, layer in enumerate(backbone.layers)}
    starts = [order[id(layers[0])] for layers in blocks.values()]
    assert starts == sorted(starts)
    # Every weighted layer of the backbone is in exactly one block.
    mapped = [layer for layers in blocks.values() for layer in layers]
    assert len(mapped) == len({id(layer) for layer in mapped})
    assert {id(lay) for lay in backbone.layers if lay.weights} <= {id(lay) for lay in mapped}

    head_ids = _weight_ids([lay for lay in model.layers if lay.name.startswith("kft_head")])
    assert {id(w) for w in model.trainable_weights} == head_ids  # built frozen

    top = list(blocks)[-1]
    assert kft.unfreeze(model, blocks=1) == [top]
    trainable = {id(w) for w in model.trainable_weights}
    # Normalisation layers (BatchNorm, and ConvNeXt's LayerNorm) stay frozen without train_bn.
    norms = (keras.layers.BatchNormalization, keras.layers.LayerNormalization)
    top_ids = _weight_ids([lay for lay in blocks[top] if not isinstance(lay, norms)])
    assert trainable == head_ids | top_ids
    assert top_ids, f"{name}: the top block {top!r} has no trainable weights"
    rows = kft.summary(model, print_fn=lambda *_: None)
    assert [r["block"] for r in rows] == [*blocks, "head"]
    assert sum(r["trainable"] for r in rows) == sum(
        keras.ops.size(w) for w in model.trainable_weights
    )
    kft.freeze(model)
    assert {id(w) for w in model.trainable_weights} == head_ids
    keras.backend.clear_session()


def test_unknown_backbone_lists_close_matches():
    with pytest.raises(KerasftError, match=r"Unknown backbone 'mobilenet_v5'.*mobilenet_v2"):
        kft.backbones.get("mobilenet_v5")


def test_keras_spellings_resolve():
    assert registry.get("MobileNetV2").name == "mobilenet_v2"
    assert registry.get("ResNet50V2").name == "resnet50v2"
    assert registry.get("EfficientNetB3").name == "efficientnet_b3"


def test_block_names_follow_the_family_naming():
    expectations = {
        "mobilenet": ("block_1", "block_13"),
        "mobilenet_v2": ("block_1", "block_16"),
        "efficientnet_b0": ("block1a", "block7a"),
        "resnet50": ("conv2", "conv5"),
        "xception": ("block1", "block14"),
        "inception_v3": ("mixed0", "mixed10"),
        "vgg16": ("block1", "block5"),
        "convnext_tiny": ("stage_0", "stage_3"),
        "mobilenet_v3_small": ("block_0", "block_10"),
    }
    for name, (first, last) in expectations.items():
        spec = registry.get(name)
        net = spec.create(max(spec.min_size, 32), weights=None)
        names = list(kft.backbones.block_map(net, spec.blocks))
        assert first in names and last in names, (name, names)
        # A bare keras.applications model (no registry hint) is recognised by its names.
        assert list(kft.backbones.block_map(net)) == names, name
        assert names.index(first) < names.index(last)
        keras.backend.clear_session()


def test_user_model_blocks_by_name_or_even_split():
    # A user's own model whose names follow no known family is split into even groups.
    inputs = keras.Input((16, 16, 3))
    x = inputs
    for i in range(6):
        x = keras.layers.Conv2D(4, 3, padding="same", name=f"my_conv_{i}")(x)
    own = keras.Model(inputs, x)
    blocks = kft.backbones.block_map(own, groups=3)
    assert list(blocks) == ["block_1", "block_2", "block_3"]
    assert [len(v) for v in blocks.values()] == [2, 2, 2]
    # A MobileNet given as a plain model is recognised by its layer names.
    net = keras.applications.MobileNet(weights=None, include_top=False, input_shape=(32, 32, 3))
    assert list(kft.backbones.block_map(net))[-1] == "block_13"


def test_bring_your_own_backbone_builds_and_unfreezes():
    inputs = keras.Input((32, 32, 3))
    x = inputs
    for i in range(4):
        x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name=f"own_{i}")(x)
    own = keras.Model(inputs, x, name="own_net")
    model = kft.build(own, 3, input_shape=(32, 32, 3), preprocessing="tf")
    assert model.output_shape == (None, 3)
    chosen = kft.unfreeze(model, fraction=0.5)
    assert len(chosen) == 2
    assert kft.trainable_blocks(model) == chosen


def test_unfreeze_arguments_are_checked():
    model = kft.build("mobilenet", 2, input_shape=(32, 32, 3), weights=None)
    with pytest.raises(KerasftError, match="exactly one of"):
        kft.unfreeze(model, blocks=1, fraction=0.5)
    with pytest.raises(KerasftError, match="Unknown block 'block_99'"):
        kft.unfreeze(model, from_block="block_99")
    assert kft.unfreeze(model, from_block="block_12") == ["block_12", "block_13"]
    assert len(kft.unfreeze(model, blocks="all")) == 14
