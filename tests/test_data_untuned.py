"""kerasft's `tf.data` pipelines run without the autotuner (`kerasft.data.pipeline.untuned`).

With it on, TensorFlow 2.21 made a `fit`'s last epoch idle until the autotuner's next wake-up
(measured in `bench/phase2_epoch.py`); these tests check every pipeline kerasft hands to `fit`
carries the setting, and that a user's own setting is kept.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from kerasft.cache.rows import FeatureRows
from kerasft.cache.runner import feature_dataset
from kerasft.data.data_splits import _batched
from kerasft.data.pipeline import make_pipeline, untuned
from kerasft.training.inputs import prepare


def _autotune(ds) -> bool | None:
    return ds.options().autotune.enabled


def test_untuned_turns_the_autotuner_off_and_keeps_other_options():
    options = tf.data.Options()
    options.deterministic = False
    ds = untuned(tf.data.Dataset.range(8).prefetch(tf.data.AUTOTUNE), options)
    assert _autotune(ds) is False and ds.options().deterministic is False
    assert list(ds.as_numpy_iterator()) == list(range(8))


def test_a_users_own_autotune_setting_stands():
    mine = tf.data.Options()
    mine.autotune.enabled = True
    ds = tf.data.Dataset.range(8).with_options(mine)
    assert _autotune(untuned(ds)) is True  # and no "option set twice" error from TensorFlow


def test_the_pipelines_kerasft_fits_on_are_untuned():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    x, y = np.random.default_rng(0).normal(size=(12, 4)), np.arange(12) % 3
    data = prepare((x, y), (x, y), model, "multiclass", batch_size=4, seed=0)
    assert _autotune(data.train) is False and _autotune(data.val) is False
    given = tf.data.Dataset.from_tensor_slices((x, y)).batch(4)
    data = prepare(given, None, model, "multiclass", batch_size=4, seed=0)
    assert _autotune(data.train) is False
    rows = FeatureRows.of(np.zeros((12, 2, 2, 3), "float16"))
    targets = np.eye(3, dtype="float32")[y]
    assert _autotune(feature_dataset(rows, targets, batch_size=4, shuffle=True)) is False
    images = tf.data.Dataset.from_tensor_slices((np.zeros((6, 8, 8, 3), "uint8"), np.arange(6) % 2))
    ds = make_pipeline(images, lambda image: image, batch_size=2, num_examples=6, label_mode="int")
    assert _autotune(ds) is False
    texts = _batched(np.array(["a", "b"]), np.array([0, 1]), 2, shuffle=True, seed=0)
    assert _autotune(texts) is False  # the text and audio loaders' splits
