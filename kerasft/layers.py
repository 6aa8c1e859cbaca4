"""The Keras layers kerasft puts inside models, registered with Keras when this module loads.

A saved `.keras` file names these classes (`kerasft>LogMel`, ...) and Keras finds only
registered ones, so a model holding them reloads once this module has been imported.
`import kerasft` imports it when Keras is already loaded (`import keras, kerasft`), every
`kft.*` function does, and `kerasft.model_file.load` does; otherwise import it yourself:

    import kerasft.layers  # noqa: F401
    model = keras.saving.load_model("audio.keras")
"""

from __future__ import annotations

from kerasft.augment.audio import AddNoise, RandomGain, RandomTimeShift, SpecAugment
from kerasft.backbones.log_mel import LogMel
from kerasft.builder.tokenizer import TextTokenizer

__all__ = [
    "AddNoise",
    "LogMel",
    "RandomGain",
    "RandomTimeShift",
    "SpecAugment",
    "TextTokenizer",
]
