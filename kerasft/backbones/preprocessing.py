"""Each family's `preprocess_input`, expressed as built-in Keras layers.

Built-in layers keep a saved `.keras` model loadable by plain Keras (no custom objects) and
keep the preprocessing inside the model, so the saved model takes raw 0..255 images.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the registry of names loads without TensorFlow (config checks use it)
    import keras

# Values from keras.applications.imagenet_utils.
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)


@dataclasses.dataclass(frozen=True)
class Preprocessing:
    """One of Keras's preprocessing modes: "tf", "caffe", "torch" or "none" (in the backbone)."""

    mode: str

    @property
    def wants_bgr(self) -> bool:
        return self.mode == "caffe"

    def layers(self, name_prefix: str = "kft_preprocess") -> list[keras.layers.Layer]:
        """Layers that map RGB (or BGR for "caffe", see `wants_bgr`) 0..255 pixels to backbone input."""
        import keras
        import numpy as np

        if self.mode == "tf":
            return [keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name=f"{name_prefix}_scale")]
        if self.mode == "caffe":
            return [
                keras.layers.Normalization(
                    mean=list(_CAFFE_MEAN_BGR), variance=[1.0, 1.0, 1.0], name=f"{name_prefix}_mean"
                )
            ]
        if self.mode == "torch":
            return [
                keras.layers.Rescaling(1.0 / 255.0, name=f"{name_prefix}_scale"),
                keras.layers.Normalization(
                    mean=list(_TORCH_MEAN),
                    variance=list(np.square(_TORCH_STD)),
                    name=f"{name_prefix}_norm",
                ),
            ]
        if self.mode == "none":
            return []
        raise ValueError(f"Unknown preprocessing mode {self.mode!r}")


TF = Preprocessing("tf")
CAFFE = Preprocessing("caffe")
TORCH = Preprocessing("torch")
BUILT_IN = Preprocessing("none")
