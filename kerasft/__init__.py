"""kerasft: fine-tune pretrained Keras 3 models with plain Keras parts.

    import kerasft as kft
    model = kft.build("mobilenet", num_classes=10, weights="imagenet")
"""

__version__ = "0.1.0"
