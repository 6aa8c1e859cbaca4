"""Data augmentation: Keras's own image layers in named presets, MixUp/CutMix, preview grids,
and kerasft's audio layers (gain, time shift, noise, SpecAugment) with their strengths.

```python
import kerasft as kft
layers = kft.augment.preset("medium")                   # list of keras layers, 0..255 input
train = kft.augment.apply(train, "light")               # in the tf.data pipeline
train = kft.augment.mix(train, "mixup", num_classes=10) # soft labels
kft.augment.save_preview("grid.png", images, "heavy")
wave_layers = kft.augment.audio_augmentation("default")  # waveforms, before the log-mel
spec_layers = kft.augment.spec_augmentation("default")   # spectrograms, after it
```
"""

from kerasft.augment.audio_presets import STRENGTHS, audio_augmentation, spec_augmentation
from kerasft.augment.mixing import METHODS, mix, mix_layer
from kerasft.augment.presets import PRESETS, apply, preset, resolve
from kerasft.augment.preview import preview_grid, save_preview

__all__ = [
    "METHODS",
    "PRESETS",
    "STRENGTHS",
    "AddNoise",
    "RandomGain",
    "RandomTimeShift",
    "SpecAugment",
    "apply",
    "audio_augmentation",
    "mix",
    "mix_layer",
    "preset",
    "preview_grid",
    "resolve",
    "save_preview",
    "spec_augmentation",
]

# The audio layers subclass keras.layers.Layer, so their module imports Keras: it loads on first
# use, as the rest of this package does, so a config check that reads PRESETS stays light.
_AUDIO_LAYERS = ("AddNoise", "RandomGain", "RandomTimeShift", "SpecAugment")


def __getattr__(name: str):
    if name not in _AUDIO_LAYERS:
        raise AttributeError(f"module 'kerasft.augment' has no attribute {name!r}")
    from kerasft.augment import audio

    value = getattr(audio, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_AUDIO_LAYERS))
