"""The cached phases train the same model as the plain two-phase `fit`, only faster."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import kerasft as kft
from kerasft.training.cached_phases import cached_phase_fns


def tiny_backbone(size: int = 16) -> keras.Model:
    """Four conv blocks named like VGG's (`block1_..`), so `block_map` names them."""
    inputs = keras.Input((size, size, 3))
    x = inputs
    for i, filters in enumerate((8, 16, 16, 32), start=1):
        x = keras.layers.Conv2D(
            filters, 3, strides=1 if i == 1 else 2, padding="same", name=f"block{i}_conv"
        )(x)
        x = keras.layers.BatchNormalization(name=f"block{i}_bn")(x)
        x = keras.layers.ReLU(name=f"block{i}_relu")(x)
    return keras.Model(inputs, x, name="tiny")


def learnable_data(n: int, size: int = 16, seed: int = 0):
    """Images whose class is the brightest quadrant (0, 1 or 2)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.integers(0, 120, (n, size, size, 3)).astype("uint8")
    half = size // 2
    for i, label in enumerate(y):
        r, c = divmod(int(label), 2)
        x[i, r * half : (r + 1) * half, c * half : (c + 1) * half] += 120
    return x, y


def make_model(seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    return kft.build(tiny_backbone(), 3, input_shape=(16, 16, 3), preprocessing="tf", dropout=0.2)


@pytest.fixture(scope="module")
def data():
    return learnable_data(96), learnable_data(32, seed=1)


def train(data, cached: bool, epochs=(2, 2), dtype="float32", tmp_path=None, **kw):
    (x, y), (xv, yv) = data
    model = make_model()
    fns = None
    if cached:
        fns = cached_phase_fns(
            model,
            "memory" if tmp_path is None else "disk",
            train=(x, y),
            val=(xv, yv),
            batch_size=16,
            dtype=dtype,
            cache_dir=tmp_path,
            verbose=0,
            unfreeze_blocks=kw.get("unfreeze_blocks", 2),
        )
    history = kft.fine_tune(
        model,
        (x, y),
        (xv, yv),
        epochs=epochs,
        batch_size=16,
        lr=3e-2,
        verbose=0,
        phase_fns=fns,
        **kw,
    )
    return model, history


def max_weight_diff(a: keras.Model, b: keras.Model) -> float:
    return max(float(np.abs(u - v).max()) for u, v in zip(a.get_weights(), b.get_weights()))


def test_head_phase_through_cache_equals_frozen_backbone(data):
    plain, h_plain = train(data, cached=False, epochs=(4, 0))
    cached, h_cached = train(data, cached=True, epochs=(4, 0))
    # The head learns (so the comparison means something) ...
    assert h_plain.history["loss"][-1] < h_plain.history["loss"][0] - 0.02
    # ... and the same seed gives the same head, batch for batch.
    np.testing.assert_allclose(h_cached.history["loss"], h_plain.history["loss"], rtol=1e-5)
    np.testing.assert_allclose(h_cached.history["val_accuracy"], h_plain.history["val_accuracy"])
    assert max_weight_diff(plain, cached) < 1e-5


@pytest.mark.parametrize("train_bn", [False, True])
def test_partial_cache_phase2_equals_full_forward(data, train_bn):
    # train_bn=True: the unfrozen blocks' BatchNorm trains, batch statistics included.
    plain, h_plain = train(data, False, epochs=(1, 2), unfreeze_blocks=2, train_bn=train_bn)
    cached, h_cached = train(data, True, epochs=(1, 2), unfreeze_blocks=2, train_bn=train_bn)
    assert kft.trainable_blocks(cached) == ["block3", "block4"]
    np.testing.assert_allclose(h_cached.history["loss"], h_plain.history["loss"], rtol=1e-4)
    assert max_weight_diff(plain, cached) < 1e-4
    # The unfrozen blocks really trained (through the shared layers of the full model).
    untouched = make_model()
    conv4 = cached.get_layer("tiny").get_layer("block4_conv").kernel.numpy()
    assert np.abs(conv4 - untouched.get_layer("tiny").get_layer("block4_conv").kernel).max() > 1e-4


def test_float16_cache_stays_close(data, tmp_path):
    _, h32 = train(data, cached=True, epochs=(2, 1))
    model, h16 = train(data, cached=True, epochs=(2, 1), dtype="float16", tmp_path=tmp_path)
    np.testing.assert_allclose(h16.history["loss"], h32.history["loss"], atol=5e-3)
    # The saved model is the usual full model: raw images in.
    path = tmp_path / "model.keras"
    model.save(path)
    (xv, _) = data[1]
    again = keras.models.load_model(path)
    np.testing.assert_allclose(
        again.predict(xv, verbose=0), model.predict(xv, verbose=0), atol=1e-5
    )
