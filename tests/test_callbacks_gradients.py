"""Gradient clipping (value, norm, global norm, adaptive) and the gradient-norm monitor."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from kerasft.callbacks.gradient_clipping import GradientClipping
from kerasft.callbacks.gradient_norm import GradientNormMonitor
from kerasft.errors import KerasftError

X = np.random.default_rng(0).random((8, 4)).astype("float32")
HUGE = np.full((8, 1), 1e4, "float32")  # a huge loss: unclipped SGD(lr=1) steps are enormous


def _model(optimizer=None):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3, name="hidden"), keras.layers.Dense(1, name="out")]
    )
    model.compile(optimizer or keras.optimizers.SGD(1.0), "mse")
    return model


def _one_step(model, callbacks):
    before = [w.copy() for w in model.get_weights()]
    model.fit(X, HUGE, batch_size=8, epochs=1, verbose=0, callbacks=callbacks)
    return [after - b for after, b in zip(model.get_weights(), before)], before


def test_unclipped_step_is_huge():
    deltas, _ = _one_step(_model(), [])
    assert max(np.linalg.norm(d) for d in deltas) > 100


def test_global_clipnorm_bounds_the_whole_update():
    deltas, _ = _one_step(_model(), [GradientClipping(global_clipnorm=1.0)])
    total = np.sqrt(sum((d**2).sum() for d in deltas))
    assert total == pytest.approx(1.0, rel=1e-4)  # the raw gradient is far larger: clipped to 1


def test_clipnorm_bounds_each_variable():
    deltas, _ = _one_step(_model(), [GradientClipping(clipnorm=0.5)])
    assert [float(np.linalg.norm(d)) for d in deltas] == pytest.approx([0.5] * 4, rel=1e-4)


def test_clipvalue_bounds_each_element():
    deltas, _ = _one_step(_model(), [GradientClipping(clipvalue=0.1)])
    flat = np.concatenate([d.ravel() for d in deltas])
    assert np.abs(flat).max() == pytest.approx(0.1, rel=1e-5)


def test_adaptive_clipping_bounds_unitwise_ratio():
    deltas, before = _one_step(_model(), [GradientClipping(adaptive=0.01)])
    for delta, weight in zip(deltas, before):
        if weight.ndim == 2:  # per output unit (column of a Dense kernel)
            ratio = np.linalg.norm(delta, axis=0) / np.maximum(np.linalg.norm(weight, axis=0), 1e-3)
        else:
            ratio = np.linalg.norm(delta) / max(np.linalg.norm(weight), 1e-3)
        assert np.all(ratio <= 0.01 * (1 + 1e-4))
        assert np.max(ratio) == pytest.approx(0.01, rel=1e-3)  # the huge gradient was clipped


def test_adaptive_clipping_leaves_small_gradients_and_excluded_variables():
    def small_step(callbacks):
        model = _model(keras.optimizers.SGD(1.0))
        near = keras.ops.convert_to_numpy(model(X)) + 1e-3  # tiny loss, tiny gradients
        before = [w.copy() for w in model.get_weights()]
        model.fit(X, near, batch_size=8, epochs=1, verbose=0, callbacks=callbacks)
        return [after - b for after, b in zip(model.get_weights(), before)]

    clipped, plain = small_step([GradientClipping(adaptive=0.5)]), small_step([])
    for a, b in zip(clipped[::2], plain[::2]):  # kernels: far below the ratio, untouched
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-12)
    # The zero-initialised bias has norm 0: its gradient is capped at 0.5 * eps (1e-3).
    assert np.linalg.norm(clipped[1]) == pytest.approx(5e-4, rel=1e-3)
    assert np.linalg.norm(plain[1]) > 5e-4
    deltas, _ = _one_step(_model(), [GradientClipping(adaptive=0.01, exclude=["out/"])])
    assert np.linalg.norm(deltas[2]) > 100  # the excluded output layer is not clipped
    assert np.linalg.norm(deltas[0]) < 1  # the hidden layer is


def test_settings_restored_after_fit_and_loss_scale_optimizer():
    optimizer = keras.optimizers.SGD(1.0, clipnorm=5.0)
    model = _model(optimizer)
    _one_step(model, [GradientClipping(global_clipnorm=1.0)])
    assert optimizer.clipnorm == 5.0 and optimizer.global_clipnorm is None
    assert "apply" not in optimizer.__dict__
    # Mixed-precision style wrapper: clipping applies to the inner (unscaled) gradients.
    model = _model(keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(1.0)))
    deltas, _ = _one_step(model, [GradientClipping(global_clipnorm=1.0)])
    assert np.sqrt(sum((d**2).sum() for d in deltas)) == pytest.approx(1.0, rel=1e-3)


def test_gradient_norm_monitor_logs_the_true_global_norm():
    model = _model(keras.optimizers.SGD(1e-6))
    w = model.get_weights()
    # Reference: the global gradient norm at the starting weights, by hand with GradientTape.
    import tensorflow as tf

    with tf.GradientTape() as tape:
        loss = keras.losses.MeanSquaredError()(HUGE, model(X))
    grads = tape.gradient(loss, model.trainable_variables)
    expected = float(np.sqrt(sum(float(tf.reduce_sum(g**2)) for g in grads)))
    model.set_weights(w)
    monitor = GradientNormMonitor()
    history = model.fit(
        X,
        HUGE,
        batch_size=8,
        epochs=2,
        verbose=0,
        callbacks=[monitor, GradientClipping(global_clipnorm=1.0)],
    )
    assert monitor.norms[0] == pytest.approx(expected, rel=1e-3)  # measured before clipping
    assert history.history["grad_norm"] == pytest.approx(monitor.norms, rel=1e-6)
    assert history.history["grad_norm_max"][0] == pytest.approx(monitor.norms[0])
    assert "apply" not in model.optimizer.__dict__  # hook removed after fit


def test_bad_arguments():
    with pytest.raises(KerasftError, match="exactly one"):
        GradientClipping()
    with pytest.raises(KerasftError, match="exactly one"):
        GradientClipping(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(KerasftError, match="positive"):
        GradientClipping(adaptive=0)
    config = json.loads(json.dumps(GradientClipping(adaptive=0.02, exclude=["head"]).get_config()))
    assert GradientClipping.from_config(config).get_config() == config
    assert GradientNormMonitor.from_config(GradientNormMonitor("gn").get_config()).key == "gn"
