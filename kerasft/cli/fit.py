"""`kerasft fit`: fine-tune from flags and/or a YAML config; no arguments runs the default job."""

from __future__ import annotations

import argparse

from kerasft.config import yaml_load
from kerasft.errors import ConfigError

# Flags that map one-to-one onto config keys: (flag, key, type, help).
_FLAGS = [
    ("--backbone", "backbone", str, "backbone name (see `kerasft backbones`)"),
    ("--weights", "weights", str, "'imagenet', 'none' or a weights file"),
    (
        "--data",
        "data",
        str,
        "a class-folder tree (of images, .txt files or audio files), a CSV of image or audio "
        "paths or texts and labels, a Keras dataset (fashion_mnist, keras:cifar10), tfds:NAME, "
        "a prepared text corpus (bbc_news, debian_descriptions) or recording set (drums, "
        "spoken_languages, prompts)",
    ),
    ("--text-col", "text_col", str, "CSV column of texts (text data)"),
    ("--label-col", "label_col", str, "CSV column of labels"),
    ("--sequence-length", "sequence_length", int, "token ids per text (default: from the data)"),
    ("--clip-seconds", "clip_seconds", float, "seconds per audio clip (default: from the data)"),
    ("--val-split", "val_split", float, "validation share carved out of folder/CSV data"),
    ("--test-split", "test_split", float, "test share carved out of folder/CSV data"),
    ("--data-dir", "data_dir", str, "where tfds:NAME data was prepared"),
    ("--train-samples", "train_samples", int, "training images drawn from the train split"),
    ("--val-samples", "val_samples", int, "validation images drawn from the train split"),
    ("--image-size", "image_size", int, "side of the backbone's input in pixels"),
    ("--lr", "lr", float, "head learning rate"),
    ("--ft-lr", "ft_lr", float, "fine-tuning learning rate (default lr/10)"),
    ("--unfreeze-blocks", "unfreeze_blocks", int, "blocks unfrozen in phase 2"),
    ("--batch-size", "batch_size", int, "batch size"),
    ("--optimizer", "optimizer", str, "adam, adamw, sgd, ..."),
    ("--augmentation", "augmentation", str, "augmentation preset"),
    ("--cache", "cache", str, "feature cache: auto, memory, disk, off"),
    ("--seed", "seed", int, "random seed"),
    ("--run-dir", "run_dir", str, "where to write the run (default runs/fit-<time>)"),
    ("--from", "from_run", str, "warm start: continue from an earlier run dir's model"),
]


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "fit",
        help="fine-tune a model (no arguments: ImageNet MobileNet on Fashion-MNIST)",
        description=__doc__,
    )
    parser.add_argument("--config", help="YAML file of config keys; flags override it")
    for flag, key, kind, text in _FLAGS:
        parser.add_argument(flag, dest=key, type=kind, help=text)
    parser.add_argument(
        "--epochs", nargs=2, type=int, metavar=("HEAD", "FINE_TUNE"), help="epochs per phase"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set any config key (VALUE is read as YAML), e.g. --set hidden_units=[256]",
    )
    parser.set_defaults(func=run)


def flags_to_config(args: argparse.Namespace) -> dict:
    overrides = {
        key: getattr(args, key) for _, key, _, _ in _FLAGS if getattr(args, key) is not None
    }
    if args.epochs:
        overrides["epochs"] = list(args.epochs)
    if overrides.get("weights", "").lower() in ("none", "null"):
        overrides["weights"] = None
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--set {item!r}: write KEY=VALUE, e.g. --set dropout=0.3")
        overrides[key.strip()] = yaml_load(value)
    return overrides


def run(args: argparse.Namespace) -> int:
    from kerasft import config

    file_config = config.load(args.config) if args.config else None
    # Bad keys, values out of range and unknown names all fail here, before TensorFlow loads.
    resolved = config.resolve(file_config, flags_to_config(args))

    from kerasft.jobs import fit

    fit.run(resolved)
    return 0
