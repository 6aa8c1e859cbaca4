"""Configuration of `kerasft fit`: the embedded default job, YAML files and flag overrides."""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from typing import Any

import yaml

from kerasft.errors import ConfigError, did_you_mean

# The default job: ImageNet MobileNet fine-tuned on Fashion-MNIST, scored on the full test set.
DEFAULTS: dict[str, Any] = {
    "backbone": "mobilenet",
    "weights": "imagenet",
    "data": "fashion_mnist",
    # Keras datasets: images drawn from the official training split (the test split is whole).
    "train_samples": 55000,
    "val_samples": 5000,
    # Folders, CSVs and TFDS: the shares carved out (stratified, seeded) where the source has
    # no validation or test split of its own.
    "val_split": 0.1,
    "test_split": 0.1,
    "data_dir": None,
    "path_col": "path",
    "label_col": "label",
    "label_sep": None,
    "image_size": 64,
    "epochs": [5, 5],
    "lr": 1e-3,
    "ft_lr": 5e-4,
    "ft_schedule": "cosine",
    "ft_warmup": 0.1,
    "unfreeze_blocks": 6,
    "train_bn": True,
    "batch_size": 128,
    "optimizer": "adam",
    "label_smoothing": 0.1,
    "augmentation": None,
    "dropout": 0.2,
    "hidden_units": [],
    "l2": 0.0,
    "cache": "auto",
    "callbacks": [],
    "seed": 0,
    "run_dir": None,
    # Share of training time the crash-safety backups may take; null: back up every epoch.
    "backup_overhead": 0.25,
    "verbose": "auto",
    "from_run": None,
    "reinit_head": False,
}

_TYPES: dict[str, tuple[type, ...]] = {
    "backbone": (str,),
    "weights": (str, type(None)),
    "data": (str,),
    "train_samples": (int, type(None)),
    "val_samples": (int,),
    "val_split": (float, int),
    "test_split": (float, int),
    "data_dir": (str, type(None)),
    "path_col": (str,),
    "label_col": (str, list),
    "label_sep": (str, type(None)),
    "image_size": (int, type(None)),
    "epochs": (list, tuple, int),
    "lr": (float, int),
    "ft_lr": (float, int, type(None)),
    "ft_schedule": (str, type(None)),
    "ft_warmup": (float, int),
    "unfreeze_blocks": (int, str),
    "train_bn": (bool,),
    "batch_size": (int,),
    "optimizer": (str, dict),
    "label_smoothing": (float, int),
    "augmentation": (str, list, type(None)),
    "dropout": (float, int),
    "hidden_units": (list, tuple),
    "l2": (float, int),
    "cache": (str, bool),
    "callbacks": (list,),
    "seed": (int,),
    "run_dir": (str, type(None)),
    "backup_overhead": (float, int, type(None)),
    "verbose": (str, int),
    "from_run": (str, type(None)),
    "reinit_head": (bool,),
}


def validate(config: Mapping[str, Any], source: str = "config") -> dict[str, Any]:
    """Refuse unknown keys and wrongly typed values, naming the key and the fix."""
    for key, value in config.items():
        if key not in DEFAULTS:
            raise ConfigError(
                f"Unknown {source} key {key!r}.{did_you_mean(key, DEFAULTS)} "
                f"Known keys: {', '.join(DEFAULTS)}."
            )
        types = _TYPES[key]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            expected = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            raise ConfigError(
                f"{source} key {key!r} = {value!r} should be {expected} "
                f"(the default is {DEFAULTS[key]!r})."
            )
    return dict(config)


def read(path: str | os.PathLike) -> dict[str, Any]:
    """The mapping a YAML file holds, unvalidated (`kerasft fit` and `kerasft tune` files).

    Raises:
        ConfigError: the file does not exist, is not YAML, or is not a mapping.
    """
    if not os.path.exists(path):
        raise ConfigError(f"Config file {os.fspath(path)!r} does not exist.")
    with open(path) as f:
        try:
            data = yaml.safe_load(f) or {}
        except yaml.YAMLError as err:
            raise ConfigError(f"{os.fspath(path)!r} is not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{os.fspath(path)!r} must hold a mapping of keys to values.")
    return data


def load(path: str | os.PathLike) -> dict[str, Any]:
    """Read and validate a YAML config file (only the keys it sets)."""
    return validate(read(path), source=os.fspath(path))


def resolve(*layers: Mapping[str, Any] | None) -> dict[str, Any]:
    """DEFAULTS overlaid with each layer in turn (a file, then flags); validated."""
    config = copy.deepcopy(DEFAULTS)
    for layer in layers:
        if layer:
            config.update(validate(layer))
    epochs = config["epochs"]
    config["epochs"] = [epochs, epochs] if isinstance(epochs, int) else list(epochs)
    return config


def dump(config: Mapping[str, Any], path: str | os.PathLike) -> None:
    with open(path, "w") as f:
        yaml.safe_dump(dict(config), f, sort_keys=False)
