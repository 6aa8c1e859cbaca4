"""`BackboneSpec`: what kerasft knows about one `keras.applications` family."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING

from kerasft.backbones.preprocessing import Preprocessing

if TYPE_CHECKING:  # the registry of names loads without TensorFlow (config checks use it)
    import keras


@dataclasses.dataclass(frozen=True)
class BlockPattern:
    """How to name blocks from layer names.

    `regex` is matched against each layer name; its first non-empty group fills `label`
    (a `str.format` template). With `boundary=True` a matching layer *closes* its block
    (the layers before it, back to the previous match, belong to it), which fits families
    whose inner layers carry generic names (Inception's `conv2d_17` closed by `mixed3`).

    Attributes:
        regex: the pattern matched against each layer name.
        label: the block's name, a `str.format` template filled with the first non-empty group.
        boundary: a matching layer closes its block instead of opening one.
    """

    regex: str
    label: str
    boundary: bool = False


@dataclasses.dataclass(frozen=True)
class BackboneSpec:
    """A registered backbone family.

    Attributes:
        name: kerasft's name, lower snake case (`"mobilenet_v2"`).
        keras_name: the `keras.applications` constructor name (`"MobileNetV2"`).
        preprocessing: how raw 0..255 RGB pixels become the backbone's input.
        default_size: the input size the ImageNet weights were trained at.
        min_size: the smallest input side the constructor accepts.
        blocks: patterns that name the blocks (tried in order for each layer).
        constructor_kwargs: extra keyword arguments for the constructor.
    """

    name: str
    keras_name: str
    preprocessing: Preprocessing
    default_size: int = 224
    min_size: int = 32
    blocks: tuple[BlockPattern, ...] = ()
    constructor_kwargs: dict = dataclasses.field(default_factory=dict)

    @property
    def constructor(self) -> Callable[..., keras.Model]:
        import keras

        return getattr(keras.applications, self.keras_name)

    def create(
        self, image_size: int | None = None, weights: str | None = "imagenet"
    ) -> keras.Model:
        """The headless backbone for square `image_size` x `image_size` RGB input."""
        size = image_size or self.default_size
        with warnings.catch_warnings():
            # MobileNets warn that sizes other than their four trained ones get the 224 px
            # weights: a headless backbone is convolutional, and fine-tuning at the size
            # the user chose is the point.
            warnings.filterwarnings("ignore", message=".*Weights for input shape")
            return self.constructor(
                include_top=False,
                weights=weights,
                input_shape=(size, size, 3),
                **self.constructor_kwargs,
            )
