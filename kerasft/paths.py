"""Where kerasft reads and writes files: the Keras cache and run directories."""

from __future__ import annotations

import os
from pathlib import Path


def keras_home() -> Path:
    """The Keras cache root: `$KERAS_HOME`, else `~/.keras` (as Keras itself decides)."""
    env = os.environ.get("KERAS_HOME")
    return Path(env).expanduser() if env else Path("~/.keras").expanduser()


def keras_models_dir() -> Path:
    """`$KERAS_HOME/models`, where `keras.applications` looks for weight files."""
    return keras_home() / "models"


def keras_datasets_dir() -> Path:
    """`$KERAS_HOME/datasets`, where `keras.datasets` looks for data files."""
    return keras_home() / "datasets"


def kerasft_cache_dir() -> Path:
    """kerasft's own cache (feature caches, downloaded sdists): `$KERASFT_CACHE` or `~/.cache/kerasft`."""
    env = os.environ.get("KERASFT_CACHE")
    return Path(env).expanduser() if env else Path("~/.cache/kerasft").expanduser()


def kerasft_weights_dir() -> Path:
    """Pretrained weights kerasft imports (text and audio backbones): `$KERASFT_WEIGHTS`, else
    `kerasft_cache_dir() / "weights"`."""
    env = os.environ.get("KERASFT_WEIGHTS")
    return Path(env).expanduser() if env else kerasft_cache_dir() / "weights"


def kerasft_data_dir() -> Path:
    """Where `kerasft data prepare` writes data sets: `$KERASFT_DATA` or `kerasft_cache_dir()/data`."""
    env = os.environ.get("KERASFT_DATA")
    return Path(env).expanduser() if env else kerasft_cache_dir() / "data"
