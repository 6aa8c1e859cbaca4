"""LR range test (callback, find_lr, CLI), NaNGuard, and a plain Keras project using them."""

from __future__ import annotations

import json
import warnings

import keras
import numpy as np
import pytest
from sklearn.datasets import load_digits

from kerasft.callbacks.gradient_clipping import GradientClipping
from kerasft.callbacks.lr_finder import (
    LRFinder,
    LRFinderResult,
    find_lr,
    minimum_over_ten,
    steepest,
    valley,
)
from kerasft.callbacks.nan_guard import NaNGuard
from kerasft.callbacks.one_cycle import OneCycle
from kerasft.errors import KerasftError


def _digits():
    digits = load_digits()
    x = (digits.data / 16.0).astype("float32")
    return x[:512], digits.target[:512]


def _mlp(optimizer, seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [keras.Input((64,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(10)]
    )
    model.compile(optimizer, keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def test_suggestion_rules_on_a_known_curve():
    lrs = np.logspace(-6, 0, 61)
    x = np.log10(lrs)
    # Flat, then falling fastest at 1e-3, lowest at 1e-1, then diverging.
    losses = 2.0 - np.tanh((x + 3) * 2) + np.where(x > -1, (x + 1) ** 2 * 20, 0)
    assert steepest(lrs, losses) == pytest.approx(1e-3, rel=0.3)
    assert minimum_over_ten(lrs, losses) == pytest.approx(lrs[np.argmin(losses)] / 10)
    assert 1e-5 < valley(lrs, losses) < lrs[np.argmin(losses)]
    with_nan = np.concatenate([losses[:30], [np.nan] * 31])
    assert minimum_over_ten(lrs, with_nan) == pytest.approx(lrs[29] / 10)
    # A divergence spike the smoothed loss comes back down from (real runs show them): its
    # fall is far steeper than the useful one, but lies past the lowest point.
    spiky = np.where(x > -0.5, 40 - 60 * (x + 0.5), losses)
    assert steepest(lrs, spiky) == pytest.approx(1e-3, rel=0.3)


def test_lr_finder_sweeps_restores_and_suggests(tmp_path):
    x, y = _digits()
    model = _mlp(keras.optimizers.Adam(1e-3))
    model.fit(x, y, batch_size=64, epochs=1, verbose=0)  # optimizer state worth restoring
    weights = [w.copy() for w in model.get_weights()]
    slots = [v.numpy().copy() for v in model.optimizer.variables]
    result = find_lr(model, x, y, batch_size=32, min_lr=1e-6, max_lr=10.0, num_steps=40)
    # Exponential sweep.
    ratios = result.lrs[1:] / result.lrs[:-1]
    np.testing.assert_allclose(ratios, (1e7) ** (1 / 39), rtol=1e-6)
    assert result.lrs[0] == pytest.approx(1e-6)
    # Smoothed loss: EMA with bias correction (first value equals the first batch loss).
    assert result.losses[0] == pytest.approx(result.raw_losses[0])
    expected_1 = (0.98 * 0.02 * result.raw_losses[0] + 0.02 * result.raw_losses[1]) / (1 - 0.98**2)
    assert result.losses[1] == pytest.approx(expected_1, rel=1e-5)
    # Diverges at high rates before the end, and says so.
    assert result.stopped_early and len(result.lrs) < 40
    assert result.losses[-1] > 4 * np.nanmin(result.losses[:-1])
    assert set(result.suggestions) == {"steepest", "valley", "minimum"}
    # Weights, optimizer state and learning rate are back.
    for a, b in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(a, b)
    for v, s in zip(model.optimizer.variables, slots):
        np.testing.assert_array_equal(v.numpy(), s)
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)
    png = result.plot(tmp_path / "lr.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved = json.loads(result.save_json(tmp_path / "lr.json").read_text())
    assert saved["suggestions"] == result.suggestions


def _held_out_loss(seed, train, test):
    """`loss_at(lr)`: the held-out loss of `_mlp` trained 2 epochs by Adam at `lr`, each time
    from the seed's initial weights, a fresh optimizer state and the same batch order."""
    model = _mlp(keras.optimizers.Adam(1e-3), seed)
    model.optimizer.build(model.trainable_variables)
    initial = [v.numpy() for v in (*model.weights, *model.optimizer.variables)]

    def loss_at(lr):
        # One model, reset, rather than one per rate: each new model costs a retrace.
        for variable, value in zip((*model.weights, *model.optimizer.variables), initial):
            variable.assign(value)
        model.optimizer.learning_rate = lr
        keras.utils.set_random_seed(seed)
        model.fit(*train, batch_size=32, epochs=2, verbose=0)
        return model.evaluate(*test, batch_size=1024, verbose=0)

    return loss_at


def test_lr_finder_suggests_rates_that_train_well_on_real_data():
    digits = load_digits()
    x, y = (digits.data / 16.0).astype("float32"), digits.target
    train, test = (x[:1024], y[:1024]), (x[1024:], y[1024:])
    # Seed 2's range test has a divergence spike the smoothed loss falls back from; the steepest
    # fall was once taken past it, at 2.7, where the held-out loss stays at chance (2.37).
    seed = 2
    loss_at = _held_out_loss(seed, train, test)

    # First, which rates train well in this budget and which diverge, on a half-decade grid.
    grid = 10.0 ** np.arange(-4, 0.01, 0.5)
    losses = {lr: loss_at(lr) for lr in grid}
    best = min(losses.values())
    chance = np.log(10)  # the loss of a uniform guess over the 10 classes
    good = [lr for lr, loss in losses.items() if loss <= 2 * best]
    diverging = [lr for lr, loss in losses.items() if lr > max(good) and loss >= 0.9 * chance]
    # One known good range, with too slow rates below it and diverging ones above it.
    assert best < 0.25 * chance and good == [lr for lr in grid if min(good) <= lr <= max(good)]
    assert grid[0] < min(good) and diverging, losses

    # The range test with the defaults users get (1e-7 to 10 over 100 steps).
    result = find_lr(_mlp(keras.optimizers.Adam(1e-3), seed), *train, batch_size=32)
    lrs, smoothed = result.lrs, result.losses
    steep = result.suggestions["steepest"]
    # Where the recorded smoothed loss falls fastest on its way down to its lowest point...
    start = len(smoothed) // 10  # the suggestions leave out the first tenth and last 5 points
    low = start + int(np.argmin(smoothed[start : len(smoothed) - 5]))
    assert steep < lrs[low], (steep, lrs[low])
    falls = np.diff(smoothed[start : low + 1])
    i = int(np.flatnonzero(lrs == steep)[0]) - start
    assert min(falls[max(i - 1, 0) : i + 1]) < 0.75 * falls.min(), (steep, falls)
    # ...lies in the good range, far below the diverging rates, and trains well there.
    assert min(good) <= steep <= max(good) and steep <= min(diverging) / 3, (steep, losses)
    assert loss_at(steep) <= 2 * best
    assert loss_at(100 * steep) >= 0.9 * chance and loss_at(steep / 100) >= 4 * best
    # fastai's default pick, "valley" (the README's one-cycle max_lr), is more cautious: below
    # the steepest fall, and still twice as good as 100x lower or higher.
    valley_lr = result.suggestions["valley"]
    assert valley_lr < steep
    assert 2 * loss_at(valley_lr) < min(loss_at(valley_lr / 100), loss_at(100 * valley_lr))
    assert loss_at(result.suggestions["minimum"]) <= 2 * best


def test_lr_finder_accepts_a_dataset_and_rejects_schedules():
    import tensorflow as tf

    x, y = _digits()
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(64)  # 8 batches < 20 steps: repeated
    result = find_lr(_mlp(keras.optimizers.SGD(0.01)), data, num_steps=20, max_lr=1.0)
    assert len(result.lrs) == 20 and not result.stopped_early
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    with pytest.raises(KerasftError, match="float learning_rate"):
        find_lr(_mlp(keras.optimizers.SGD(schedule)), x, y)
    with pytest.raises(KerasftError, match="min_lr"):
        LRFinder(min_lr=1.0, max_lr=0.1)
    assert isinstance(
        LRFinderResult.from_curve([1e-3, 1e-2], [1.0, 0.5], [1.0, 0.5]).suggestions, dict
    )


def test_nan_guard_stops_restores_and_reports():
    x, y = _digits()
    model = _mlp(keras.optimizers.SGD(0.01))
    model.fit(x, y, batch_size=64, epochs=1, verbose=0)
    good = [w.copy() for w in model.get_weights()]
    # A real NaN: one input row poisoned, reached in the second epoch (batches are not shuffled).
    x_bad = x.copy()
    # An infinite pixel, not NaN: oneDNN's ReLU maps NaN to 0, while inf becomes NaN (inf - inf)
    # in the next layer on every CPU kernel.
    x_bad[64 * 8 - 3, 5] = np.inf
    x_bad = np.concatenate([x, x_bad])
    guard = NaNGuard()
    with pytest.warns(
        RuntimeWarning, match=r"epoch 1 \(index 0\), batch 16 \(index 15\), with learning rate 0.01"
    ):
        history = model.fit(
            x_bad,
            np.concatenate([y, y]),
            batch_size=64,
            epochs=3,
            shuffle=False,
            verbose=0,
            callbacks=[guard],
        )
    assert guard.event["epoch"] == 0 and guard.event["batch"] == 15
    assert guard.event["learning_rate"] == pytest.approx(0.01)
    assert len(history.history["loss"]) == 1  # stopped
    weights = model.get_weights()
    assert all(np.isfinite(w).all() for w in weights)
    # Restored to the start-of-training snapshot (no epoch had ended yet).
    for a, b in zip(weights, good):
        np.testing.assert_array_equal(a, b)


def test_nan_guard_snapshots_every_n_batches_and_huge_lr():
    x, y = _digits()
    model = _mlp(keras.optimizers.SGD(1e8))  # diverges within a few steps
    guard = NaNGuard(snapshot_every=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        model.fit(x * 100.0, y, batch_size=16, epochs=2, verbose=0, callbacks=[guard])
    assert guard.event is not None and guard.event["restored_from"][1] is not None
    assert guard.event["restored_from"][1] < guard.event["batch"]
    assert all(np.isfinite(w).all() for w in model.get_weights())
    assert "NaNGuard" in guard.message and "learning rate" in guard.message
    with pytest.raises(KerasftError, match="snapshot_every"):
        NaNGuard(snapshot_every=0)


def test_plain_keras_project_one_cycle_clipping_and_lr_finder():
    """A user's own Keras script: own Sequential model, own compile and fit, no kerasft builder."""
    digits = load_digits()
    x = digits.images[..., None].astype("float32") / 16.0
    y = digits.target
    keras.utils.set_random_seed(1)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(8, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"]
    )

    result = find_lr(
        model, x[:1024], y[:1024], batch_size=32, num_steps=30, min_lr=1e-5, max_lr=1.0
    )
    lr = result.suggestions["valley"]

    # As the README does: the suggestion is one-cycle's peak rate (the accuracy below is its).
    one_cycle = OneCycle(max_lr=lr)
    clip = GradientClipping(global_clipnorm=1.0)
    history = model.fit(
        x[:1024],
        y[:1024],
        batch_size=32,
        epochs=3,
        verbose=0,
        validation_data=(x[1024:], y[1024:]),
        callbacks=[one_cycle, clip],
    )
    assert history.history["learning_rate"][-1] < history.history["learning_rate"][0] * 2
    assert len(one_cycle.learning_rates) == 3 * 32
    assert history.history["val_accuracy"][-1] > 0.8
    assert model.optimizer.global_clipnorm is None  # clipping removed after fit


def test_cli_lr_find_writes_plot_and_suggestions(tmp_path, fashion_mnist):
    from kerasft.cli.main import main

    out = tmp_path / "lr"
    code = main(
        [
            "lr-find",
            "--backbone",
            "mobilenet",
            "--data",
            "fashion_mnist",
            "--image-size",
            "32",
            "--samples",
            "96",
            "--batch-size",
            "16",
            "--steps",
            "8",
            "--weights",
            "none",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    assert (out / "lr_find.png").read_bytes()[:4] == b"\x89PNG"
    record = json.loads((out / "lr_find.json").read_text())
    assert set(record["suggestions"]) == {"steepest", "valley", "minimum"}
    assert len(record["lrs"]) <= 8 and record["settings"]["backbone"] == "mobilenet"
    assert main(["lr-find", "--steps", "1", "--out", str(out)]) == 2  # bad input: clean error
