"""Which modality a backbone or a job's data source is: "image", "text" or "audio".

Loads without TensorFlow: `kerasft fit` and `kerasft tune` refuse a backbone of another
modality than the data before anything loads.
"""

from __future__ import annotations

from kerasft.backbones.audio_presets import is_audio_backbone
from kerasft.backbones.text_presets import is_text_backbone

MODALITIES = ("image", "text", "audio")


def backbone_modality(backbone) -> str:
    """ "text", "audio" or "image" (every other name, path or model).

    Args:
        backbone: what was passed as `backbone=`.
    """
    if is_audio_backbone(backbone):
        return "audio"
    if is_text_backbone(backbone):
        return "text"
    return "image"


def source_modality(source: str) -> str:
    """The modality of a `kerasft.jobs.datasets.kind` value ("text_csv" -> "text").

    Args:
        source: what `kind(cfg["data"])` returned.
    """
    prefix = source.split("_", 1)[0]
    return prefix if prefix in ("text", "audio") else "image"
