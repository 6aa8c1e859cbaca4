"""The feature cache streams a `tf.data` pipeline of image files: same features, bounded memory."""

from __future__ import annotations

import numpy as np
import pytest
from own_images import write_images

import kerasft as kft
from kerasft.cache import CachedRunner, FeatureCache, ModelCut
from kerasft.cache.fingerprint import row_hashes


def peak_rss():
    # The benchmark's sampler (bench/_common.py), so the test measures what the bench does.
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from _common import PeakRSS as sampler

    return sampler(interval=0.005)


@pytest.fixture(scope="module")
def folder(tmp_path_factory, fashion_mnist):
    root = tmp_path_factory.mktemp("stream")
    write_images(root, fashion_mnist, per_class=700)
    return root


def _model(size):
    return kft.build("mobilenet", 3, input_shape=(size, size, 3), image_size=size, weights=None)


def test_streamed_features_equal_the_array_path(folder, tmp_path):
    with pytest.warns(UserWarning):
        data = kft.data.from_folder(folder, image_size=48, batch_size=50, shuffle=False)
    model = _model(48)
    x = np.concatenate([xb for xb, _ in data.train.as_numpy_iterator()])
    # float32 on the array path: another cache key, so the stream cannot reuse these rows.
    arrays = FeatureCache(ModelCut(model), "memory", root=tmp_path / "a", dtype="float32")
    expected = arrays.features(x).array()
    streaming = FeatureCache(ModelCut(model), "disk", root=tmp_path / "s", verbose=0)
    rows, hashes, labels = streaming.stream(data.train.as_numpy_iterator(), total=len(x))
    assert len(rows) == len(x) == len(labels) == 2103
    assert np.array_equal(hashes, row_hashes(x))  # the same rows, in the same order
    np.testing.assert_allclose(
        rows.array().astype("float32"), expected.astype("float32"), rtol=1e-2, atol=1e-3
    )
    # Written as shards on disk, memory-mapped on read.
    shards = list((tmp_path / "s").glob("*/*.npy"))
    assert [p for p in shards if not p.name.endswith(".rows.npy")]
    # A second pass computes nothing: every row is found by its content hash.
    again = FeatureCache(ModelCut(model), "disk", root=tmp_path / "s", verbose=1)
    assert again.lookup(hashes) is not None


def _cheap_backbone(size):
    # Strided early: the test is about memory, so the forward pass should cost little.
    import keras

    inputs = keras.Input((size, size, 3))
    x = keras.layers.Conv2D(8, 7, strides=4, activation="relu", name="stem")(inputs)
    x = keras.layers.Conv2D(16, 3, strides=2, activation="relu", name="block_1")(x)
    x = keras.layers.Conv2D(32, 3, strides=2, activation="relu", name="block_2")(x)
    return keras.Model(inputs, x, name="cheap")


def test_streaming_memory_stays_far_below_the_collected_images(folder, tmp_path, capsys):
    import tensorflow as tf

    size = 224
    with pytest.warns(UserWarning):
        # No tf.data cache of the decoded images, as `kerasft fit` loads folders.
        data = kft.data.from_folder(
            folder, image_size=size, batch_size=32, shuffle=False, cache=False
        )
    n = sum(data.info.split_counts["train"].values())
    spec = data.train.element_spec[0]
    collected = n * size * size * 3 * spec.dtype.size  # what collecting the images would take
    model = kft.build(_cheap_backbone(size), 3, input_shape=(size, size, 3), weights=None)
    cache = FeatureCache(ModelCut(model), "disk", root=tmp_path, verbose=1)
    # Warm up (tracing, thread pools, allocator) on a few batches of another pipeline.
    cache.stream(data.train.take(3).map(lambda x, y: (255 - x, y)).as_numpy_iterator())
    with peak_rss() as memory:
        rows, _, _ = cache.stream(data.train.as_numpy_iterator(), total=n)
    assert len(rows) == n and spec.dtype == tf.uint8
    assert collected > 300e6
    # A few batches and one shard of features, not the images.
    assert memory.growth < collected / 4, (memory.growth / 1e6, collected / 1e6)
    out = capsys.readouterr().out
    assert f"{n}/{n}" in out and "image/s" in out  # the progress bar reached the end


def test_fine_tune_on_a_folder_pipeline_trains_from_disk_shards(folder, tmp_path):
    with pytest.warns(UserWarning):
        data = kft.data.from_folder(folder, image_size=32, batch_size=64, validation_split=0.2)
    model = _model(32)
    runner = CachedRunner(mode="disk", cache_dir=tmp_path, verbose=0)
    before = [np.array(v) for v in model.trainable_variables]
    history = kft.fine_tune(
        model, data.train, data.val, epochs=(2, 1), unfreeze_blocks=1, cache=runner, verbose=0
    )
    assert runner.report[1].startswith("cached at") and runner.report[2].startswith("cached at")
    assert len(history.history["loss"]) == 3
    assert any(not np.array_equal(b, np.array(v)) for b, v in zip(before, model.weights))
    # Two cuts (the pooled features and the input of the unfrozen block), both on disk.
    assert len({p.parent for p in tmp_path.glob("*/*.rows.npy")}) == 2
