"""The builder: raw images -> preprocessing -> augmentation -> backbone -> head."""

from kerasft.builder.build import build, get_backbone

__all__ = ["build", "get_backbone"]
