"""What every loader shares: carve splits, count classes, build one pipeline per split.

A loader describes its data as `Part`s (the training data, and a predefined validation or
test set if the source has one): the labels as a NumPy array, for stratifying and counting,
and a function from example indices to a `tf.data.Dataset` of `(raw, label)`, where `raw` is
something cheap (a path, an index, an encoded record) that the loader's `decode` turns into an
image inside the pipeline.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from kerasft.data.data_splits import DataSplits
from kerasft.data.info import DatasetInfo
from kerasft.data.labels import class_counts
from kerasft.data.pipeline import LABEL_MODES, make_pipeline
from kerasft.data.splits import DEFAULT_SEED, split_indices
from kerasft.errors import KerasftError, unknown_name

AUGMENT_IN = ("pipeline", "model")
SPLITS = ("train", "val", "test")
# Decoded images are cached in memory by default when they fit in this much.
MEMORY_CACHE_LIMIT = 1 << 30


@dataclass
class Part:
    """One stored split of a source: its labels and a way to read examples by index."""

    labels: np.ndarray
    elements: Callable  # np.ndarray of indices -> tf.data.Dataset of (raw, label)
    cheap: bool = True  # raw elements are small enough to shuffle all at once


def _cache_for(cache, split: str, fingerprint: str):
    if cache is None or cache is False:
        return False
    if cache is True or cache == "memory":
        return "memory"
    directory = os.fspath(cache)
    os.makedirs(directory, exist_ok=True)
    # A file cache is only valid for the exact data it was written from.
    return os.path.join(directory, f"kerasft_{fingerprint}_{split}")


def assemble(
    parts: dict[str, Part],
    decode: Callable,
    *,
    class_names: list[str],
    multilabel: bool,
    image_size: tuple[int, int] | None,
    channels: int | None,
    source: str,
    output_channels: int | None = None,
    skipped: dict[str, str] | None = None,
    converted: list[str] | None = None,
    batch_size: int = 32,
    validation_split: float | None = None,
    test_split: float | None = None,
    seed: int | None = DEFAULT_SEED,
    stratify: bool = True,
    shuffle: bool = True,
    cache: bool | str | None = None,
    cache_by_default: bool = True,
    deterministic: bool = False,
    augment=None,
    augment_in: str = "pipeline",
    mix: str | None = None,
    mix_alpha: float | None = None,
    label_mode: str = "int",
    interpolation: str = "bilinear",
) -> DataSplits:
    """Split, count and build pipelines; see the loaders for what each option means."""
    from kerasft.augment.presets import resolve

    if augment_in not in AUGMENT_IN:
        raise unknown_name("augment_in", augment_in, AUGMENT_IN)
    if label_mode not in LABEL_MODES:
        raise unknown_name("label_mode", label_mode, LABEL_MODES)
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise KerasftError(f"batch_size={batch_size!r} must be a positive integer.")
    if image_size is not None:
        image_size = _check_size(image_size)
    subsets: dict[str, tuple[Part, np.ndarray]] = {
        name: (part, np.arange(len(part.labels))) for name, part in parts.items()
    }
    if validation_split or test_split:
        for name, fraction in (("val", validation_split), ("test", test_split)):
            if fraction and name in parts:
                what = "validation" if name == "val" else "test"
                raise KerasftError(
                    f"this source already has a {what} split; drop {what}_split={fraction}."
                )
        train_part = parts["train"]
        train_idx, val_idx, test_idx = split_indices(
            train_part.labels, validation_split, test_split, seed=seed, stratify=stratify
        )
        subsets["train"] = (train_part, train_idx)
        if validation_split:
            subsets["val"] = (train_part, val_idx)
        if test_split:
            subsets["test"] = (train_part, test_idx)
    for name, (_, indices) in subsets.items():
        if len(indices) == 0:
            raise KerasftError(f"the {name} split is empty; use a larger fraction or more data.")

    split_counts = {
        name: class_counts(part.labels[idx], class_names)
        for name, (part, idx) in sorted(subsets.items(), key=lambda kv: SPLITS.index(kv[0]))
    }
    totals = {c: sum(counts[c] for counts in split_counts.values()) for c in class_names}
    num_examples = int(sum(len(idx) for _, idx in subsets.values()))
    out_channels = output_channels if output_channels is not None else channels
    info = DatasetInfo(
        class_names=class_names,
        class_counts=totals,
        split_counts=split_counts,
        image_size=image_size,
        channels=out_channels or 3,
        num_examples=num_examples,
        multilabel=multilabel,
        skipped=dict(skipped or {}),
        converted=list(converted or []),
        source=source,
    )

    if cache is None:
        cache = False
        if cache_by_default and image_size is not None:
            estimate = num_examples * image_size[0] * image_size[1] * (out_channels or 3)
            cache = "memory" if estimate <= MEMORY_CACHE_LIMIT else False
    fingerprint = hashlib.sha1(
        f"{source}|{image_size}|{out_channels}|{num_examples}|{seed}|{validation_split}|"
        f"{test_split}".encode()
    ).hexdigest()[:12]

    layers = resolve(augment, seed=seed)
    datasets = {}
    for name, (part, indices) in subsets.items():
        training = name == "train"
        datasets[name] = make_pipeline(
            part.elements(indices),
            decode,
            num_examples=len(indices),
            image_size=image_size,
            channels=channels,
            label_mode=label_mode,
            num_classes=len(class_names),
            batch_size=batch_size,
            shuffle=shuffle and training,
            seed=seed,
            cache=_cache_for(cache, name, fingerprint),
            deterministic=deterministic,
            augment=layers if training and augment_in == "pipeline" else None,
            mix=mix if training else None,
            mix_alpha=mix_alpha,
            interpolation=interpolation,
            cheap_elements=part.cheap,
        )
    return DataSplits(
        train=datasets["train"],
        val=datasets.get("val"),
        test=datasets.get("test"),
        info=info,
        augmentation=layers if augment_in == "model" else [],
    )


def _check_size(image_size) -> tuple[int, int]:
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    try:
        height, width = (int(s) for s in image_size)
    except (TypeError, ValueError):
        raise KerasftError(
            f"image_size={image_size!r} must be (height, width) or one int, e.g. (224, 224)."
        ) from None
    if height < 1 or width < 1:
        raise KerasftError(f"image_size={image_size!r} must be positive.")
    return height, width
