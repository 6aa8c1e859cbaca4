"""The cached phases train the same model as the plain two-phase `fit`, only faster."""

from __future__ import annotations

from types import SimpleNamespace

import keras
import numpy as np
import pytest

import kerasft as kft
from kerasft import config
from kerasft.backbones.blocks import block_map
from kerasft.cache import CachedRunner
from kerasft.jobs.recipe import fine_tune_kwargs


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
    kw.setdefault("unfreeze_blocks", 2)  # of the tiny backbone's 4 blocks
    model = make_model()
    runner = "off"
    if cached:
        runner = CachedRunner(
            "memory" if tmp_path is None else "disk", dtype=dtype, cache_dir=tmp_path, verbose=0
        )
    history = kft.fine_tune(
        model,
        (x, y),
        (xv, yv),
        epochs=epochs,
        batch_size=16,
        lr=3e-2,
        verbose=0,
        cache=runner,
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
    # train_bn=True: the unfrozen blocks' BatchNorm gamma/beta train (in inference mode).
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


MOBILENET_TRAIN, MOBILENET_VAL = 500, 100


def mobilenet_run(fashion_mnist, cached: bool, train_bn: bool):
    """The default recipe (1 + 1 epochs) on real Fashion-MNIST at 32 px, cached or not."""
    (x, y), _, _ = fashion_mnist
    train = x[:MOBILENET_TRAIN], y[:MOBILENET_TRAIN]
    val = x[MOBILENET_TRAIN:][:MOBILENET_VAL], y[MOBILENET_TRAIN:][:MOBILENET_VAL]
    kwargs = fine_tune_kwargs(config.resolve({"epochs": [1, 1], "train_bn": train_bn}))
    kwargs["cache"] = "off"  # the cached side gets float32 phases below
    keras.utils.set_random_seed(0)
    model = kft.build("mobilenet", 10, input_shape=(28, 28, 1), image_size=32)
    initial = [w.numpy().copy() for w in model.weights]
    phases = None
    if cached:
        # float32 features: the equivalence of the machinery (cut, batch order, BatchNorm
        # mode), without float16 rounding, which Adam's sign-like first steps amplify.
        phases = kwargs["cache"] = CachedRunner("memory", dtype="float32", verbose=0)
    history = kft.fine_tune(model, train, val, **kwargs, verbose=0)
    probs = model.predict(val[0], verbose=0)
    return SimpleNamespace(
        model=model, history=history, initial=initial, probs=probs, phases=phases
    )


@pytest.mark.slow
@pytest.mark.parametrize("train_bn", [False, True])
def test_cache_on_imagenet_mobilenet_trains_the_same_model(
    fashion_mnist, imagenet_mobilenet, train_bn
):
    plain = mobilenet_run(fashion_mnist, cached=False, train_bn=train_bn)
    cached = mobilenet_run(fashion_mnist, cached=True, train_bn=train_bn)
    model = cached.model
    blocks = block_map(kft.get_backbone(model))
    names = list(blocks)
    top = names[len(names) - config.DEFAULTS["unfreeze_blocks"] :]
    below = names[len(names) - len(top) - 1]
    assert cached.phases.report[1].startswith("cached at kft_head_pool")
    assert cached.phases.report[2].startswith(f"cached at {below} ")
    # Tolerances. On this machine the two runs agree bitwise (every difference is 0.0), but
    # another CPU may sum in another order. As a stand-in for that, a 1e-6 relative change of
    # two weights (conv1, the head) moved the losses by <= 2.3e-4 (relative; val 1.4e-3), the
    # weights by <= 9e-4 and the validation probabilities by <= 9e-3. A real bug moves them
    # far more: the same runs with batches in another order (seed 1) differed by 1.5e-2 in
    # the losses (val 5e-2), 7.2e-3 in the weights and 0.24 in the probabilities. Adam moves
    # a weight by at most its learning rate per step, which bounds any weight difference here
    # (4 steps at 1e-3, 4 at <= 5e-4: measured 5.1e-3), hence the absolute weight tolerance.
    h_plain, h_cached = plain.history.history, cached.history.history
    np.testing.assert_allclose(h_cached["loss"], h_plain["loss"], rtol=2e-3)
    np.testing.assert_allclose(h_cached["val_loss"], h_plain["val_loss"], rtol=1e-2)
    np.testing.assert_allclose(cached.probs, plain.probs, atol=0.05)
    assert max_weight_diff(plain.model, model) < 2e-3
    # What trained (so the comparison means something): the top blocks' kernels, their
    # BatchNorm gamma/beta exactly when train_bn, never a moving statistic.
    moved = {
        w.path
        for w, before in zip(model.weights, cached.initial)
        if not np.array_equal(w.numpy(), before)
    }
    kernels = {
        w.path
        for name in top
        for layer in blocks[name]
        if not isinstance(layer, keras.layers.BatchNormalization)
        for w in layer.weights
    }
    assert kernels and kernels <= moved, sorted(kernels - moved)
    assert not [p for p in moved if "moving_" in p]
    assert bool([p for p in moved if p.endswith(("/gamma", "/beta"))]) == train_bn
