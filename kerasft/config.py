"""Configuration of `kerasft fit`: the embedded default job, YAML files and flag overrides."""

from __future__ import annotations

import copy
import numbers
import os
import re
from collections.abc import Mapping
from typing import Any

import yaml

from kerasft.errors import ConfigError, KerasftError, did_you_mean

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
    # Text data: the CSV column of texts, and the token ids per text (null: from the data).
    "text_col": "text",
    "sequence_length": None,
    # Audio data: seconds per clip (null: the 95th percentile of the durations, <= 10 s).
    "clip_seconds": None,
    "image_size": 64,
    "epochs": [5, 7],
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
    # LoRA adapters of this rank on the backbone (phase 2 trains only them and the head);
    # null or 0: none.
    "lora_rank": None,
    "callbacks": [],
    "seed": 0,
    "run_dir": None,
    # Share of training time the crash-safety backups may take; null: back up every epoch.
    "backup_overhead": 0.25,
    "verbose": "auto",
    "from_run": None,
    "reinit_head": False,
}

# The text recipe (measured in bench/text.py): MiniLM, its top 2 of 6 transformer layers in
# phase 2, a training subset sized so the whole job stays under 20 minutes on 2 CPU cores.
TEXT_DEFAULTS: dict[str, Any] = {
    "backbone": "minilm",
    "train_samples": 6000,
    "val_samples": 500,
    "epochs": [10, 2],
    "lr": 2e-3,
    "ft_lr": 2e-4,
    "unfreeze_blocks": 2,
    "batch_size": 32,
}

# The audio recipe (measured in bench/audio.py): musicnn, its top 2 of 5 conv blocks in phase
# 2, small batches (the sets hold hundreds to a few thousand clips). Head epochs on cached
# pooled features cost milliseconds; with a few hundred clips the head needed 60 of them at
# 1e-2 (drums pilots: 1e-3 for 20 epochs left it at 33% validation accuracy, 64.6% test after
# phase 2; 1e-2, 60 + 20 epochs: 85.4% at ft_lr 5e-4, 89.6% at 1e-3). Three blocks in phase 2
# reached 89.6% too, at 4x the time.
AUDIO_DEFAULTS: dict[str, Any] = {
    "backbone": "musicnn",
    "train_samples": None,
    "epochs": [60, 20],
    "lr": 1e-2,
    "ft_lr": 1e-3,
    "unfreeze_blocks": 2,
    "batch_size": 32,
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
    "text_col": (str,),
    "sequence_length": (int, type(None)),
    "clip_seconds": (float, int, type(None)),
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
    "lora_rank": (int, type(None)),
    "callbacks": (list,),
    "seed": (int,),
    "run_dir": (str, type(None)),
    "backup_overhead": (float, int, type(None)),
    "verbose": (str, int),
    "from_run": (str, type(None)),
    "reinit_head": (bool,),
}


class YamlLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` that reads `3e-4` and `1e3` as floats, as YAML 1.2 does.

    YAML 1.1 (PyYAML's) takes a float only with a dot in its mantissa, so the `lr: 3e-4`
    everyone writes would be the string "3e-4".

    >>> import yaml
    >>> from kerasft.config import YamlLoader
    >>> yaml.load("{lr: 3e-4, n: 1e3, s: 3.0e-4, i: 10, v: v1e3}", Loader=YamlLoader)
    {'lr': 0.0003, 'n': 1000.0, 's': 0.0003, 'i': 10, 'v': 'v1e3'}
    """


YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def yaml_load(text) -> Any:
    """The value of YAML `text` (a string or an open file), floats read as YAML 1.2 does.

    Args:
        text: YAML source, e.g. the value of `--set lr=3e-4`.

    >>> from kerasft.config import yaml_load
    >>> yaml_load("3e-4"), yaml_load("[256, 128]")
    (0.0003, [256, 128])
    """
    return yaml.load(text, Loader=YamlLoader)  # noqa: S506 - a SafeLoader subclass


def _integer(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _epochs(value) -> bool:
    if _integer(value):
        return value >= 0
    return len(value) == 2 and all(_integer(e) and e >= 0 for e in value)


def _optional(check):
    return lambda v: v is None or check(v)


# key -> (the check of a value of the right type, the allowed values in words).
_RANGES: dict[str, tuple[Any, str]] = {
    "batch_size": (lambda v: v >= 1, "an integer >= 1, e.g. 128"),
    "lr": (lambda v: v > 0, "a number > 0, e.g. 1e-3"),
    "ft_lr": (_optional(lambda v: v > 0), "a number > 0, e.g. 1e-4 (or null: lr / 10)"),
    "epochs": (
        _epochs,
        "[HEAD, FINE_TUNE], two integers >= 0 (0 skips that phase), e.g. [5, 5]",
    ),
    "dropout": (lambda v: 0 <= v < 1, "a number from 0 to below 1, e.g. 0.2"),
    "label_smoothing": (lambda v: 0 <= v < 1, "a number from 0 to below 1, e.g. 0.1"),
    "l2": (lambda v: v >= 0, "a number >= 0 (0: no weight penalty), e.g. 1e-4"),
    "image_size": (
        _optional(lambda v: v >= 1),
        "an integer >= 1 (or null: the backbone's default size)",
    ),
    "train_samples": (_optional(lambda v: v >= 1), "an integer >= 1 (or null: all)"),
    "sequence_length": (
        _optional(lambda v: 3 <= v <= 512),
        "an integer from 3 to 512 (or null: the 95th percentile of the texts' token counts)",
    ),
    "clip_seconds": (
        _optional(lambda v: 0 < v <= 60),
        "a number of seconds above 0, at most 60 (or null: the 95th percentile of the clips' "
        "durations, at most 10 s)",
    ),
    "val_samples": (lambda v: v >= 0, "an integer >= 0 (0: no validation)"),
    "val_split": (lambda v: 0 <= v < 1, "a share from 0 (no validation) to below 1, e.g. 0.1"),
    "test_split": (lambda v: 0 <= v < 1, "a share from 0 (no test set) to below 1, e.g. 0.1"),
    # A string is 'all' or a block name, which only the built model can check.
    "unfreeze_blocks": (
        lambda v: isinstance(v, str) or v >= 0,
        "an integer >= 0 or 'all'",
    ),
    "ft_warmup": (
        lambda v: 0 <= v < 1,
        "a share of phase 2's steps from 0 (no warm-up) to below 1, e.g. 0.1",
    ),
    "backup_overhead": (
        _optional(lambda v: v > 0),
        "a share of training time > 0, e.g. 0.25 (or null: back up every epoch)",
    ),
    "seed": (lambda v: v >= 0, "an integer >= 0"),
    "lora_rank": (
        _optional(lambda v: v >= 0),
        "an integer >= 1, e.g. 4 (or 0 / null: no LoRA)",
    ),
    "hidden_units": (
        lambda v: all(_integer(u) and u >= 1 for u in v),
        "a list of integers >= 1 (units of each hidden layer), e.g. [256]",
    ),
}


def _check_name(key: str, value, source: str) -> None:
    """Refuse an unknown backbone, optimizer or augmentation preset name (no TensorFlow)."""
    from kerasft.errors import unknown_name

    if key == "backbone" and ":" not in value:  # "module:factory" is resolved when built
        from kerasft.backbones import registry
        from kerasft.backbones.audio_presets import is_audio_backbone
        from kerasft.backbones.text_presets import is_text_backbone

        if is_text_backbone(value) or is_audio_backbone(value):
            return  # their weights are checked when they are built
        try:
            registry.get(value)
        except KerasftError as err:
            raise ConfigError(f"{source} key 'backbone': {err} See `kerasft backbones`.") from None
    elif key == "optimizer" and isinstance(value, str):
        from kerasft.optimizer_names import OPTIMIZERS

        if value.lower() not in OPTIMIZERS:
            err = unknown_name("optimizer", value, OPTIMIZERS)
            raise ConfigError(
                f"{source} key 'optimizer': {err} Or give a Keras optimizer config, "
                "{class_name: ..., config: {...}}."
            )
    elif key == "augmentation" and isinstance(value, str):
        from kerasft.augment.audio_presets import STRENGTHS
        from kerasft.augment.presets import PRESETS, canonical

        if not canonical(value) and value.strip().lower() not in STRENGTHS:
            err = unknown_name(
                "augmentation preset", value, list(dict.fromkeys((*PRESETS, *STRENGTHS)))
            )
            raise ConfigError(f"{source} key 'augmentation': {err}")


def validate(config: Mapping[str, Any], source: str = "config") -> dict[str, Any]:
    """Refuse unknown keys, wrongly typed values, values out of range and unknown names.

    Each error names the key, the value and what it may be. Nothing here loads TensorFlow, so
    `kerasft fit` and `kerasft tune` fail at once, before any data loads.

    Args:
        config: config keys and their values (some or all of DEFAULTS's keys).
        source: what the keys came from (a file name, "config"), for the messages.

    Raises:
        ConfigError: the first bad key or value.

    >>> from kerasft.config import validate
    >>> validate({"batch_size": 0})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    kerasft.errors.ConfigError: config key 'batch_size' = 0 is out of range: use an integer >= 1...
    """
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
        check, allowed = _RANGES.get(key, (None, ""))
        if check is not None and not check(value):
            raise ConfigError(
                f"{source} key {key!r} = {value!r} is out of range: use {allowed} "
                f"(the default is {DEFAULTS[key]!r})."
            )
        if key in ("backbone", "optimizer", "augmentation"):
            _check_name(key, value, source)
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
            data = yaml_load(f) or {}
        except yaml.YAMLError as err:
            raise ConfigError(f"{os.fspath(path)!r} is not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{os.fspath(path)!r} must hold a mapping of keys to values.")
    return data


def load(path: str | os.PathLike) -> dict[str, Any]:
    """Read and validate a YAML config file (only the keys it sets)."""
    return validate(read(path), source=os.fspath(path))


def _overlay(base: Mapping[str, Any], layers) -> dict[str, Any]:
    config = copy.deepcopy(dict(base))
    for layer in layers:
        if layer:
            config.update(validate(layer))
    return config


def resolve(*layers: Mapping[str, Any] | None) -> dict[str, Any]:
    """DEFAULTS overlaid with each layer in turn (a file, then flags); validated.

    When the data is text (`kerasft.jobs.text_sources`) or audio
    (`kerasft.jobs.audio_sources`), TEXT_DEFAULTS or AUDIO_DEFAULTS lie between DEFAULTS and
    the layers: that modality's recipe, which any key given still overrides.
    """
    from kerasft.jobs.audio_sources import audio_kind
    from kerasft.jobs.text_sources import text_kind

    config = _overlay(DEFAULTS, layers)
    if text_kind(config["data"], config["path_col"], config["text_col"]):
        config = _overlay({**DEFAULTS, **TEXT_DEFAULTS}, layers)
    elif audio_kind(config["data"], config["path_col"]):
        config = _overlay({**DEFAULTS, **AUDIO_DEFAULTS}, layers)
    epochs = config["epochs"]
    config["epochs"] = [epochs, epochs] if isinstance(epochs, int) else list(epochs)
    return config


def dump(config: Mapping[str, Any], path: str | os.PathLike) -> None:
    with open(path, "w") as f:
        yaml.safe_dump(dict(config), f, sort_keys=False)
