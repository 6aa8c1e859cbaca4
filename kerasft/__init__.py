"""kerasft: fine-tune pretrained Keras 3 models with plain Keras parts.

import kerasft as kft
model = kft.build("mobilenet", num_classes=10, input_shape=(28, 28, 1), image_size=96)
history = kft.fine_tune(model, (x_train, y_train), (x_val, y_val), epochs=(2, 2))
"""

__version__ = "0.1.0"

from kerasft import backbones, weights
from kerasft.builder import build, get_backbone
from kerasft.freezing import freeze, summary, trainable_blocks, unfreeze
from kerasft.training.compile import compile
from kerasft.training.fine_tune import fine_tune
from kerasft.training.guard import RecompileGuard

__all__ = [
    "RecompileGuard",
    "backbones",
    "build",
    "compile",
    "fine_tune",
    "freeze",
    "get_backbone",
    "summary",
    "trainable_blocks",
    "unfreeze",
    "weights",
]
