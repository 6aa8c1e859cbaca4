"""Batch-size finder and CPU defaults."""

from __future__ import annotations

import math
import os
import time

import keras
import numpy as np
import pytest
import tensorflow as tf
from test_cache_equivalence import learnable_data, make_model

import kerasft as kft
from kerasft.cache import CachedRunner
from kerasft.cache.batch_size import find_batch_size, is_out_of_memory, largest_fitting
from kerasft.errors import KerasftError
from kerasft.speed import cpu_defaults


@pytest.mark.parametrize("capacity", [1, 7, 8, 100, 256, 300, 1000, 5000])
def test_largest_fitting_is_exact_and_frugal(capacity):
    tried = []

    def fits(b):
        tried.append(b)
        return b <= capacity

    assert largest_fitting(fits, start=8, limit=4096) == min(capacity, 4096)
    # Doubling then bisection: logarithmically many trials, never the same size twice.
    assert len(tried) == len(set(tried)) <= 2 * math.log2(4096) + 2


def test_out_of_memory_errors_are_recognised():
    assert is_out_of_memory(tf.errors.ResourceExhaustedError(None, None, "OOM when allocating"))
    assert is_out_of_memory(tf.errors.InternalError(None, None, "Failed to allocate memory"))
    assert not is_out_of_memory(tf.errors.InvalidArgumentError(None, None, "bad shape"))
    assert not is_out_of_memory(ValueError("x"))


def test_throughput_finder_leaves_the_model_untouched():
    inputs = keras.Input((12,))
    x = keras.layers.Dense(32)(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Dropout(0.5)(x)
    model = keras.Model(inputs, keras.layers.Dense(3)(x))
    before = [v.numpy().copy() for v in model.variables]
    result = find_batch_size(model, goal="throughput", start=8, limit=64, steps=2)
    assert result.goal == "throughput" and int(result) == result.batch_size
    for b, a in zip(before, model.variables):  # weights, BN statistics and dropout seeds
        np.testing.assert_array_equal(b, a.numpy())


class _KnownCost(keras.layers.Layer):
    """Passes its input through, each call taking `cost(batch_size)` seconds of wall time."""

    def __init__(self, cost, **kwargs):
        super().__init__(**kwargs)
        self.cost = cost

    def call(self, x):
        def wait(batch_size):
            time.sleep(self.cost(int(batch_size)))
            return np.float32(0)

        delay = tf.py_function(wait, [tf.shape(x)[0]], tf.float32)
        delay.set_shape(())
        return x + tf.stop_gradient(delay)


def test_throughput_finder_picks_the_fastest_measured_batch():
    # A step costing 20 ms plus a part growing with the square of the batch: samples per
    # second, b / cost(b), peak at b = 64 (1600/s), with 32 and 128 at 80% of it.
    def cost(b):
        return 0.02 * (1 + (b / 64) ** 2)

    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2)(_KnownCost(cost)(inputs)))
    expected = {b: b / cost(b) for b in (8, 16, 32, 64, 128, 256)}
    result = find_batch_size(model, goal="throughput", start=8, limit=1024, steps=3)
    # Doubling stops after two sizes in a row slower than the best: 512 and 1024 never run.
    assert list(result.throughput) == list(expected)
    # What it measured is the step's time: never faster than the known cost, TF's own
    # overhead on a 4-wide Dense small next to it.
    for b, measured in result.throughput.items():
        assert 0.5 * expected[b] < measured <= 1.01 * expected[b], (b, measured, expected[b])
    assert result.batch_size == 64 == max(result.throughput, key=result.throughput.get)
    # With a wider tolerance the smallest batch within it of the best wins (more updates per
    # epoch): 32 at 80% of the best, 16 at 47%.
    assert find_batch_size(model, goal="throughput", limit=1024, tolerance=0.4).batch_size == 32


def test_finder_refuses_bad_arguments():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    with pytest.raises(KerasftError, match="goal"):
        find_batch_size(model, goal="fastest")
    with pytest.raises(KerasftError, match="start"):
        find_batch_size(model, start=64, limit=8)
    free = keras.Sequential([keras.Input((None, 4)), keras.layers.Dense(1)])
    with pytest.raises(KerasftError, match="fixed input shape"):
        find_batch_size(free)


def test_auto_batch_size_is_measured_per_phase(capsys):
    x, y = learnable_data(64)
    model = make_model()
    fns = CachedRunner("memory", batch_size="auto", verbose=1)
    history = kft.fine_tune(
        model, (x, y), epochs=(1, 1), batch_size=16, verbose=0, cache=fns, unfreeze_blocks=2
    )
    out = capsys.readouterr().out
    assert "phase 1:" in out and "phase 2:" in out and len(history.epoch) == 2


def test_cpu_defaults(monkeypatch):
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    # TensorFlow is already running in the test process: too late, and it says so.
    with pytest.warns(UserWarning, match="before importing tensorflow"):
        settings = cpu_defaults()
    assert settings["TF_ENABLE_ONEDNN_OPTS"] == "0"
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "1")
    assert cpu_defaults()["TF_ENABLE_ONEDNN_OPTS"] == os.environ["TF_ENABLE_ONEDNN_OPTS"]
