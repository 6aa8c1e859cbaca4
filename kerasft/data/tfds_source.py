"""`from_tfds`: a TensorFlow Datasets data set already prepared in a local `data_dir`.

`tfds.load` on data that is not prepared tries to download it, and offline it retries DNS for
minutes before failing. kerasft looks for the prepared files itself (`<data_dir>/<name>/
[<config>/]<version>/dataset_info.json`) before importing TFDS, fails at once with how to
prepare them when they are absent, and reads them with `tfds.builder_from_directory`, which
needs neither the dataset's code nor a network.

Example:

```python
data = kft.data.from_tfds("tf_flowers", data_dir="/data/tfds", image_size=160,
                          validation_split=0.2)
data = kft.data.from_tfds("mnist:3.0.1", data_dir="/data/tfds",
                          split={"train": "train", "test": "test"})
```
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kerasft.data.data_splits import DataSplits
from kerasft.data.loading import Part, assemble
from kerasft.data.splits import DEFAULT_SEED
from kerasft.errors import KerasftError, did_you_mean

_VERSION = re.compile(r"^\d+\.\d+\.\d+$")


def default_data_dir() -> Path:
    """TFDS's own default: `$TFDS_DATA_DIR`, else `~/tensorflow_datasets`."""
    return Path(os.environ.get("TFDS_DATA_DIR", "~/tensorflow_datasets")).expanduser()


def _versions(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    found = [
        d
        for d in directory.iterdir()
        if _VERSION.match(d.name) and (d / "dataset_info.json").is_file()
    ]
    return sorted(found, key=lambda d: tuple(int(p) for p in d.name.split(".")))


def _not_prepared(name: str, data_dir: Path, looked: Path) -> KerasftError:
    prepared = []
    if data_dir.is_dir():
        prepared = sorted(
            d.name
            for d in data_dir.iterdir()
            if d.is_dir() and (_versions(d) or any(_versions(c) for c in d.iterdir() if c.is_dir()))
        )
    known = f" Prepared here: {', '.join(prepared)}." if prepared else ""
    base = name.split(":")[0]
    return KerasftError(
        f"TFDS dataset {name!r} is not prepared in {data_dir} (looked for "
        f"{looked}/<version>/dataset_info.json).{did_you_mean(base.split('/')[0], prepared)}"
        f"{known} kerasft never downloads at load time (offline, TFDS would retry for "
        f"minutes). Prepare it on a machine with network: `tfds build {base} --data_dir "
        f"{data_dir}` (or `tfds.builder({base.split('/')[0]!r}, data_dir=...)"
        ".download_and_prepare()`), then copy that data_dir's "
        f"{base.split('/')[0]}/ folder to {data_dir}/ on this machine."
    )


def find_prepared(name: str, data_dir: str | os.PathLike | None = None) -> Path:
    """The folder of a prepared TFDS dataset ('name', 'name:1.0.0', 'name/config:1.0.0').

    Only looks at the file system: fast, and never touches the network.

    Raises:
        KerasftError: when it is not there, saying how to prepare it.
    """
    data_dir = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    base, _, version = str(name).partition(":")
    if not base or (version and not _VERSION.match(version)):
        raise KerasftError(
            f"TFDS name {name!r} must look like 'name', 'name:1.0.0' or 'name/config:1.0.0'."
        )
    dataset_dir = data_dir / base
    if version:
        candidate = dataset_dir / version
        if (candidate / "dataset_info.json").is_file():
            return candidate
        raise _not_prepared(str(name), data_dir, dataset_dir)
    versions = _versions(dataset_dir)
    if versions:
        return versions[-1]
    if dataset_dir.is_dir() and "/" not in base:
        configs = sorted(c.name for c in dataset_dir.iterdir() if c.is_dir() and _versions(c))
        if len(configs) == 1:
            return _versions(dataset_dir / configs[0])[-1]
        if configs:
            raise KerasftError(
                f"TFDS dataset {base!r} has several prepared configs ({', '.join(configs)}); "
                f"name one, e.g. '{base}/{configs[0]}'."
            )
    raise _not_prepared(str(name), data_dir, dataset_dir)


def from_tfds(
    name: str,
    data_dir: str | os.PathLike | None = None,
    split: str | Sequence[str] = "train",
    image_size: tuple[int, int] | int | None = None,
    batch_size: int = 32,
    validation_split: float | None = None,
    test_split: float | None = None,
    seed: int | None = DEFAULT_SEED,
    *,
    image_key: str | None = None,
    label_key: str | None = None,
    channels: int | None = None,
    **options,
) -> DataSplits:
    """Load a TFDS image classification dataset prepared in `data_dir`.

    Args:
        name: 'name', 'name:version' or 'name/config:version'; the newest version by default.
        data_dir: where it was prepared (default: `$TFDS_DATA_DIR` or ~/tensorflow_datasets).
        split: a TFDS split ('train', 'train[:80%]'); or up to three, used in order as the
            train, validation and test splits (`("train", "test")` validates on 'test'); or a
            dict such as `{"train": "train[:90%]", "val": "train[90%:]", "test": "test"}`.
        image_size: (height, width) to resize to; needed when the images vary in size.
        validation_split, test_split: fractions carved out of the train split, stratified.
        image_key, label_key: feature names (default: the dataset's supervised keys, else
            'image' and 'label').
        channels: 3 turns grayscale into RGB; None keeps the stored channels.
        batch_size, seed, **options: as for `from_folder`.

    Raises:
        KerasftError: at once (no network access) when the dataset is not prepared locally.
    """
    builder_dir = find_prepared(name, data_dir)
    import tensorflow_datasets as tfds

    builder = tfds.builder_from_directory(builder_dir)
    features = builder.info.features
    supervised = builder.info.supervised_keys or ("image", "label")
    image_key = image_key or supervised[0]
    label_key = label_key or supervised[1]
    for key, what in ((image_key, "image_key"), (label_key, "label_key")):
        if key not in features:
            raise KerasftError(
                f"{what}={key!r} is not a feature of {name!r}.{did_you_mean(key, features.keys())} "
                f"Features: {', '.join(features.keys())}."
            )
    label_feature = features[label_key]
    if not isinstance(label_feature, tfds.features.ClassLabel):
        raise KerasftError(
            f"feature {label_key!r} of {name!r} is a {type(label_feature).__name__}, not a "
            "ClassLabel; kerasft loads image classification datasets."
        )
    image_feature = features[image_key]
    height, width, stored_channels = image_feature.shape
    if image_size is None:
        if height is None or width is None:
            raise KerasftError(
                f"the images of {name!r} vary in size; pass image_size=(height, width)."
            )
        image_size = (height, width)
    class_names = list(label_feature.names)

    if isinstance(split, str):
        named = {"train": split}
    elif isinstance(split, dict):
        named = dict(split)
    else:
        named = dict(zip(("train", "val", "test"), split, strict=False))
        if not 1 <= len(split) <= 3:
            raise KerasftError(f"split={split!r}: give one to three TFDS split names.")
    if "train" not in named or set(named) - {"train", "val", "test"}:
        raise KerasftError(
            f"split={split!r}: a dict needs the key 'train' and may have 'val' and 'test'."
        )
    available = list(builder.info.splits.keys())
    skip = {image_key: tfds.decode.SkipDecoding()}

    def read(tfds_split):
        try:
            ds = builder.as_dataset(split=tfds_split, decoders=skip, shuffle_files=False)
        except (ValueError, KeyError) as err:
            raise KerasftError(
                f"split {tfds_split!r} of {name!r}: {err}. Splits: {', '.join(available)}."
            ) from None
        return ds.map(lambda ex: (ex[image_key], ex[label_key]))

    parts = {}
    for key, tfds_split in named.items():
        labels = np.concatenate(
            [b for _, b in read(tfds_split).batch(4096).as_numpy_iterator()] or [np.zeros(0)]
        ).astype(np.int64)
        parts[key] = Part(labels, _elements(read, tfds_split, len(labels)), cheap=False)

    return assemble(
        parts,
        image_feature.decode_example,
        class_names=class_names,
        multilabel=False,
        image_size=image_size,
        channels=channels,
        output_channels=channels or stored_channels or 3,
        source=f"tfds:{builder_dir}",
        batch_size=batch_size,
        validation_split=validation_split,
        test_split=test_split,
        seed=seed,
        **options,
    )


def _elements(read, tfds_split: str, total: int):
    import tensorflow as tf

    def elements(indices):
        ds = read(tfds_split)
        if len(indices) < total:
            mask = np.zeros(total, dtype=bool)
            mask[indices] = True
            mask_t = tf.constant(mask)
            ds = (
                ds.enumerate()
                .filter(lambda i, example: tf.gather(mask_t, i))
                .map(lambda i, example: example)
            )
        # Filtering hides the length; tell tf.data (and Keras's progress bar) what it is.
        return ds.apply(tf.data.experimental.assert_cardinality(len(indices)))

    return elements
