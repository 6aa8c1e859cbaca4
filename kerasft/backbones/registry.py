"""The table of every `keras.applications` family kerasft can fine-tune."""

from __future__ import annotations

from kerasft.backbones.preprocessing import BUILT_IN, CAFFE, TF, TORCH
from kerasft.backbones.spec import BackboneSpec, BlockPattern
from kerasft.errors import unknown_name

_MOBILENET = (BlockPattern(r"^conv_(?:dw|pw|pad)_(\d+)", "block_{}"),)
_MOBILENET_V2 = (
    BlockPattern(r"^block_(\d+)_", "block_{}"),
    BlockPattern(r"^expanded_conv_()", "block_0"),
)
_MOBILENET_V3 = (
    BlockPattern(r"^expanded_conv_(\d+)_", "block_{}"),
    BlockPattern(r"^expanded_conv_()", "block_0"),
)
_EFFICIENTNET = (BlockPattern(r"^block(\d+[a-z])_", "block{}"),)
_RESNET = (BlockPattern(r"^conv(\d)_", "conv{}"),)
_DENSENET = (BlockPattern(r"^(?:conv|pool)(\d)_", "conv{}"),)
_CONVNEXT = (BlockPattern(r"_(?:stage_|downsampling_block_)(\d+)", "stage_{}"),)
_XCEPTION = (BlockPattern(r"^block(\d+)_", "block{}"),)
_VGG = (BlockPattern(r"^block(\d)_", "block{}"),)
_INCEPTION_V3 = (BlockPattern(r"^mixed(\d+)$", "mixed{}", boundary=True),)
_INCEPTION_RESNET_V2 = (
    BlockPattern(r"^(mixed_\w\w|block35_\d+|block17_\d+|block8_\d+)", "{}", boundary=True),
)
_NASNET = (BlockPattern(r"^(?:normal|reduction|adjust|separable)\w*?_(stem_\d+|\d+)$", "cell_{}"),)


def _family(prefix, keras_prefix, variants, **common):
    return [
        BackboneSpec(name=f"{prefix}{v.lower()}", keras_name=f"{keras_prefix}{v}", **common, **kw)
        for v, kw in variants
    ]


_SPECS: list[BackboneSpec] = [
    BackboneSpec("mobilenet", "MobileNet", TF, blocks=_MOBILENET),
    BackboneSpec("mobilenet_v2", "MobileNetV2", TF, blocks=_MOBILENET_V2),
    BackboneSpec("mobilenet_v3_small", "MobileNetV3Small", BUILT_IN, blocks=_MOBILENET_V3),
    BackboneSpec("mobilenet_v3_large", "MobileNetV3Large", BUILT_IN, blocks=_MOBILENET_V3),
    *_family(
        "efficientnet_",
        "EfficientNet",
        [
            ("B0", {"default_size": 224}),
            ("B1", {"default_size": 240}),
            ("B2", {"default_size": 260}),
            ("B3", {"default_size": 300}),
            ("B4", {"default_size": 380}),
            ("B5", {"default_size": 456}),
            ("B6", {"default_size": 528}),
            ("B7", {"default_size": 600}),
        ],
        preprocessing=BUILT_IN,
        blocks=_EFFICIENTNET,
    ),
    *_family(
        "efficientnet_v2_",
        "EfficientNetV2",
        [
            ("B0", {"default_size": 224}),
            ("B1", {"default_size": 240}),
            ("B2", {"default_size": 260}),
            ("B3", {"default_size": 300}),
            ("S", {"default_size": 384}),
            ("M", {"default_size": 480}),
            ("L", {"default_size": 480}),
        ],
        preprocessing=BUILT_IN,
        blocks=_EFFICIENTNET,
    ),
    *_family(
        "resnet",
        "ResNet",
        [("50", {}), ("101", {}), ("152", {})],
        preprocessing=CAFFE,
        blocks=_RESNET,
    ),
    *_family(
        "resnet",
        "ResNet",
        [("50V2", {}), ("101V2", {}), ("152V2", {})],
        preprocessing=TF,
        blocks=_RESNET,
    ),
    *_family(
        "convnext_",
        "ConvNeXt",
        [("Tiny", {}), ("Small", {}), ("Base", {}), ("Large", {}), ("XLarge", {})],
        preprocessing=BUILT_IN,
        blocks=_CONVNEXT,
    ),
    *_family(
        "densenet",
        "DenseNet",
        [("121", {}), ("169", {}), ("201", {})],
        preprocessing=TORCH,
        blocks=_DENSENET,
    ),
    BackboneSpec("xception", "Xception", TF, default_size=299, min_size=71, blocks=_XCEPTION),
    BackboneSpec(
        "inception_v3", "InceptionV3", TF, default_size=299, min_size=75, blocks=_INCEPTION_V3
    ),
    BackboneSpec(
        "inception_resnet_v2",
        "InceptionResNetV2",
        TF,
        default_size=299,
        min_size=75,
        blocks=_INCEPTION_RESNET_V2,
    ),
    BackboneSpec("vgg16", "VGG16", CAFFE, blocks=_VGG),
    BackboneSpec("vgg19", "VGG19", CAFFE, blocks=_VGG),
    BackboneSpec("nasnet_mobile", "NASNetMobile", TF, blocks=_NASNET),
    BackboneSpec("nasnet_large", "NASNetLarge", TF, default_size=331, blocks=_NASNET),
]

REGISTRY: dict[str, BackboneSpec] = {spec.name: spec for spec in _SPECS}
# Keras's own spelling ("MobileNetV2", "resnet50v2") resolves too.
_ALIASES: dict[str, str] = {}
for _spec in _SPECS:
    _ALIASES[_spec.keras_name.lower()] = _spec.name
    _ALIASES[_spec.name.replace("_", "")] = _spec.name


def names() -> list[str]:
    """All registered backbone names, in registry order."""
    return list(REGISTRY)


def get(name: str) -> BackboneSpec:
    """The `BackboneSpec` called `name` (kerasft or Keras spelling, any case).

    Args:
        name: a backbone name, e.g. "mobilenet_v2" or "MobileNetV2".
    """
    if isinstance(name, BackboneSpec):
        return name
    key = str(name).strip().lower()
    key = _ALIASES.get(key.replace("_", "").replace("-", ""), key)
    if key not in REGISTRY:
        raise unknown_name("backbone", str(name), REGISTRY)
    return REGISTRY[key]
