"""Backbones: the registry of `keras.applications` families and their block maps.

>>> import kerasft as kft
>>> "mobilenet_v2" in kft.backbones.list()
True
"""

from kerasft.backbones.registry import REGISTRY, get, names
from kerasft.backbones.spec import BackboneSpec, BlockPattern

list = names  # noqa: A001 - `kft.backbones.list()` is the documented spelling


def __getattr__(name: str):
    # block_map needs Keras; the names alone must not (config checks run before TensorFlow loads).
    if name == "block_map":
        from kerasft.backbones.blocks import block_map

        return block_map
    raise AttributeError(f"module 'kerasft.backbones' has no attribute {name!r}")


__all__ = ["REGISTRY", "BackboneSpec", "BlockPattern", "block_map", "get", "list", "names"]
