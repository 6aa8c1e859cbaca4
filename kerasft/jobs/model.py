"""The model of a `kerasft fit` config: the arguments it gives `kft.build`.

`kerasft fit` and every `kft.tune` trial build through `build_kwargs`, so a config's model is
the same in both (its training recipe is `kerasft.jobs.recipe.fine_tune_kwargs`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def build_kwargs(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The `kft.build` keyword arguments of a resolved `kerasft fit` config.

    All but what the data and the caller decide: the backbone (a name, or the model an
    import path gives), the number of classes and the input shape. A text backbone gets
    `sequence_length` instead of the image keys, an audio backbone only `augmentation`.

    Args:
        cfg: a resolved `kerasft fit` config (`kerasft.config.resolve`).

    Example:

    >>> from kerasft import config
    >>> from kerasft.jobs.model import build_kwargs
    >>> kwargs = build_kwargs(config.resolve({"hidden_units": [64], "dropout": 0.3}))
    >>> kwargs["hidden_units"], kwargs["dropout"]
    ((64,), 0.3)
    """
    from kerasft.backbones.modalities import backbone_modality

    common = dict(
        weights=cfg["weights"],
        dropout=cfg["dropout"],
        hidden_units=tuple(cfg["hidden_units"]),
        l2=cfg["l2"],
    )
    modality = backbone_modality(cfg["backbone"])
    if modality == "text":
        # A text model tokenizes its strings itself: no image size or augmentation.
        return {**common, "sequence_length": cfg["sequence_length"]}
    if modality == "audio":  # the clip length comes from the data
        return {**common, "augmentation": cfg["augmentation"]}
    return {**common, "image_size": cfg["image_size"], "augmentation": cfg["augmentation"]}
