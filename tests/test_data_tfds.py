"""from_tfds on a tiny TFDS dataset prepared offline in a temporary data_dir."""

from __future__ import annotations

import time

import importlib_resources  # noqa: F401  (TFDS needs it to write a dataset, not to read one)
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from sklearn.datasets import load_digits

import kerasft.data as kdata
from kerasft.data.tfds_source import find_prepared
from kerasft.errors import KerasftError


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tfds")
    digits = load_digits()
    images = (digits.images[:90] * 255 / 16).astype(np.uint8)[..., None]
    labels = digits.target[:90] % 3
    features = tfds.features.FeaturesDict(
        {
            "image": tfds.features.Image(shape=(8, 8, 1)),
            "label": tfds.features.ClassLabel(names=["zero", "one", "two"]),
        }
    )
    tfds.dataset_builders.store_as_tfds_dataset(
        name="tiny_digits",
        version="1.0.0",
        features=features,
        split_datasets={
            "train": tf.data.Dataset.from_tensor_slices(
                {"image": images[:60], "label": labels[:60]}
            ),
            "test": tf.data.Dataset.from_tensor_slices(
                {"image": images[60:], "label": labels[60:]}
            ),
        },
        data_dir=directory,
    )
    return directory, images, labels


def _collect(dataset):
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in dataset], strict=True)
    return np.concatenate(xs), np.concatenate(ys)


def test_from_tfds_reads_prepared_data(data_dir):
    directory, images, labels = data_dir
    data = kdata.from_tfds(
        "tiny_digits",
        data_dir=directory,
        split={"train": "train", "test": "test"},
        shuffle=False,
        batch_size=25,
    )
    assert data.info.class_names == ["zero", "one", "two"]
    assert data.info.image_size == (8, 8) and data.info.channels == 1
    train_x, train_y = _collect(data.train)
    assert train_x.shape == (60, 8, 8, 1) and train_x.dtype == np.uint8
    # TFDS may store examples in its own order: compare as sets of (image, label).
    stored = sorted(images[i].tobytes() + bytes([labels[i]]) for i in range(60))
    got = sorted(train_x[i].tobytes() + bytes([train_y[i]]) for i in range(60))
    assert got == stored
    test_x, _ = _collect(data.test)
    assert len(test_x) == 30 and data.val is None
    assert sum(data.info.class_counts.values()) == 90
    # A sequence is (train, val, test) in order.
    paired = kdata.from_tfds("tiny_digits", data_dir=directory, split=("train[:50%]", "test"))
    assert sum(paired.info.split_counts["train"].values()) == 30
    assert sum(len(y) for _, y in paired.val) == 30 and paired.test is None


def test_from_tfds_stratified_validation_and_resize(data_dir):
    directory, _, labels = data_dir
    data = kdata.from_tfds(
        "tiny_digits:1.0.0",
        data_dir=directory,
        image_size=16,
        validation_split=0.2,
        batch_size=8,
        channels=3,
        seed=0,
    )
    counts = np.bincount(labels[:60])
    val_counts = list(data.info.split_counts["val"].values())
    assert sum(val_counts) == 12 and np.all(np.abs(np.array(val_counts) - counts * 0.2) <= 1)
    val_x, val_y = _collect(data.val)
    assert val_x.shape == (12, 16, 16, 3) and np.bincount(val_y).tolist() == val_counts
    assert np.array_equal(val_x[..., 0], val_x[..., 2])
    assert data.train.cardinality().numpy() == 6  # 48 examples / 8
    assert sum(len(y) for _, y in data.train) == 48


def test_missing_dataset_fails_fast_with_how_to_prepare(tmp_path, data_dir):
    directory, _, _ = data_dir
    start = time.perf_counter()
    with pytest.raises(KerasftError) as error:
        kdata.from_tfds("tf_flowers", data_dir=tmp_path)
    assert time.perf_counter() - start < 5
    message = str(error.value)
    assert "not prepared" in message and "tfds build tf_flowers" in message
    with pytest.raises(KerasftError, match="Did you mean 'tiny_digits'"):
        kdata.from_tfds("tiny_digit", data_dir=directory)
    with pytest.raises(KerasftError, match="not prepared"):
        find_prepared("tiny_digits:9.9.9", directory)
    assert find_prepared("tiny_digits", directory).name == "1.0.0"


def test_bad_keys_and_splits(data_dir):
    directory, _, _ = data_dir
    with pytest.raises(KerasftError, match="Did you mean 'label'"):
        kdata.from_tfds("tiny_digits", data_dir=directory, label_key="labels")
    with pytest.raises(KerasftError, match="Splits: train, test|Splits: test, train"):
        kdata.from_tfds("tiny_digits", data_dir=directory, split="validation")


def test_a_job_reads_tfds_data_by_name(data_dir):
    from kerasft import config
    from kerasft.jobs.datasets import job_data

    directory, _, _ = data_dir
    cfg = config.resolve({"data": "tfds:tiny_digits", "data_dir": str(directory)})
    data = job_data({**cfg, "image_size": 8, "val_split": 0.2, "test_split": 0.2})
    assert data.class_names == ["zero", "one", "two"]
    assert data.source == "tfds:tiny_digits"
    # The 60 training examples, split 60/20/20 with the seed.
    assert data.counts == {"train": 36, "val": 12, "test": 12}
    x, y = next(iter(data.train))
    assert x.shape[1:3] == (8, 8) and set(np.unique(y.numpy())) <= {0, 1, 2}
