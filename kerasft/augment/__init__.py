"""Data augmentation from Keras's own layers: named presets, MixUp/CutMix, preview grids.

```python
import kerasft as kft
layers = kft.augment.preset("medium")                   # list of keras layers, 0..255 input
train = kft.augment.apply(train, "light")               # in the tf.data pipeline
train = kft.augment.mix(train, "mixup", num_classes=10) # soft labels
kft.augment.save_preview("grid.png", images, "heavy")
```
"""

from kerasft.augment.mixing import METHODS, mix, mix_layer
from kerasft.augment.presets import PRESETS, apply, preset, resolve
from kerasft.augment.preview import preview_grid, save_preview

__all__ = [
    "METHODS",
    "PRESETS",
    "apply",
    "mix",
    "mix_layer",
    "preset",
    "preview_grid",
    "resolve",
    "save_preview",
]
