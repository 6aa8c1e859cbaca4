"""Audio backbones: kerasft's named pretrained audio networks and where their weights live.

Loads without TensorFlow (config checks use it). The networks themselves are in
`kerasft/backbones/musicnn.py`; `kerasft weights import musicnn` writes their weights.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from kerasft.paths import kerasft_weights_dir


@dataclasses.dataclass(frozen=True)
class AudioPreset:
    """A named audio backbone kerasft can import offline.

    Attributes:
        name: kerasft's name (`"musicnn"`).
        folder: its folder under `kerasft_weights_dir()`.
        description: one line for `kerasft backbones`.
        how_to_get: the command that imports its weights.
        sample_rate: the rate in Hz its waveforms must have (the data pipeline resamples).
        min_seconds: the shortest clip it pools (shorter ones are zero-padded in the model).
    """

    name: str
    folder: str
    description: str
    how_to_get: str
    sample_rate: int
    min_seconds: float

    @property
    def path(self) -> Path:
        """Where `kerasft weights import` puts the weights."""
        return kerasft_weights_dir() / self.folder


AUDIO_BACKBONES: dict[str, AudioPreset] = {
    "musicnn": AudioPreset(
        "musicnn",
        "musicnn_mtt_vgg",
        "musicnn MagnaTagATune VGG: 16 kHz waveforms -> 96-band log-mel -> 5 conv blocks, "
        "0.6M parameters (50 music tags)",
        "kerasft weights import musicnn",
        16000,
        1.04,
    ),
}


@dataclasses.dataclass(frozen=True)
class MusicnnFiles:
    """The files `kerasft weights import musicnn` writes.

    Attributes:
        folder: their folder.
        backbone: the headless network's `.weights.h5`.
        tags: the pretrained tag layer (`kernel`, `bias`, tag names) as `.npz`.
    """

    folder: Path

    @property
    def backbone(self) -> Path:
        return self.folder / "musicnn_mtt_vgg.weights.h5"

    @property
    def tags(self) -> Path:
        return self.folder / "mtt_tags.npz"


def musicnn_files() -> MusicnnFiles:
    """Where musicnn's imported weights are (`$KERASFT_WEIGHTS/musicnn_mtt_vgg/`)."""
    return MusicnnFiles(AUDIO_BACKBONES["musicnn"].path)


def is_audio_backbone(backbone) -> bool:
    """True if `backbone` names one of kerasft's audio backbones.

    Args:
        backbone: what was passed as `backbone=` (a name, a path, or a model).
    """
    if not isinstance(backbone, (str, os.PathLike)):
        return False
    return os.fspath(backbone).strip().lower() in AUDIO_BACKBONES
