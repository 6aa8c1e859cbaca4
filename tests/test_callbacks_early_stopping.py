"""EarlyStopping across the two phases of `kft.fine_tune` (two `fit` calls), and min_epochs."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

import kerasft as kft
from kerasft.callbacks.early_stopping import EarlyStopping
from kerasft.errors import KerasftError

X = np.random.default_rng(0).random((16, 4)).astype("float32")
Y = X.sum(axis=1, keepdims=True)


def _model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.01), "mse")
    return model


class _Script(keras.callbacks.Callback):
    """Writes a scripted "score" into the epoch logs (before EarlyStopping reads them) and keeps
    the weights at each phase start and epoch end, so tests control the monitored value
    exactly and can tell which weights were restored."""

    def __init__(self, scores):
        super().__init__()
        self.scores = scores
        self.weights, self.starts = {}, []

    def _values(self):
        return {v.path: v.numpy().copy() for v in self.model.weights}

    def on_train_begin(self, logs=None):
        self.starts.append(self._values())

    def on_epoch_end(self, epoch, logs=None):
        logs["score"] = self.scores[epoch]
        self.weights[epoch] = self._values()


def _same(a, b):
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def images(fashion_mnist):
    (x, y), _, _ = fashion_mnist
    return x[:64], y[:64]


def _fine_tune(images, stop, phase1, phase2, cache="off", run_dir=None):
    """A real `kft.fine_tune` of ImageNet MobileNet on Fashion-MNIST; epoch e scores
    `(phase1 + phase2)[e]` (phase 2 starts at epoch len(phase1))."""
    keras.utils.set_random_seed(0)
    model = kft.build("mobilenet", 10, input_shape=(28, 28, 1), image_size=32)
    script = _Script(dict(enumerate([*phase1, *phase2])))
    history = kft.fine_tune(
        model,
        images,
        epochs=(len(phase1), len(phase2)),
        unfreeze_blocks=2,
        batch_size=32,
        cache=cache,
        run_dir=run_dir,
        callbacks=[script, stop],
        verbose=0,
    )
    return model, script, history


@pytest.mark.parametrize("cache", ["off", "memory"])
def test_phase_two_gets_its_own_patience_and_best(images, imagenet_mobilenet, cache, tmp_path):
    stop = EarlyStopping("score", mode="min", patience=2, restore_best_weights=True)
    # Phase 1's best (0.4, epoch 1) is restored at its end; phase 2 never beats it, but
    # improves on its own start, then gets worse for `patience` epochs.
    model, script, history = _fine_tune(
        images, stop, [1.0, 0.4, 0.5], [0.9, 0.7, 0.8, 0.85, 0.95], cache, tmp_path / "run"
    )
    assert history.epoch == [0, 1, 2, 3, 4, 5, 6]  # phase 2 stopped after epoch 6, not 3
    assert stop.phases == 2 and stop.best == pytest.approx(0.7) and stop.best_epoch == 4
    # Phase 2 started from phase 1's best weights, and that is the phase-1 checkpoint a
    # restart would load.
    assert _same(script.starts[1], script.weights[1])
    with np.load(tmp_path / "run" / "checkpoints" / "phase_1.npz") as saved:
        checkpoint = {v.path: saved[f"w{i}"] for i, v in enumerate(model.weights)}
    assert _same(checkpoint, script.weights[1])
    assert _same(script._values(), script.weights[4])  # phase 2's best, restored at its end


def test_a_plain_keras_project_gets_a_phase_per_fit():
    stop = EarlyStopping("score", mode="min", patience=2, restore_best_weights=True)
    model = _model()
    script = _Script(dict(enumerate([1.0, 0.5, 0.4, 0.9, 0.8, 0.7, 0.6])))
    model.fit(X, Y, epochs=3, verbose=0, callbacks=[script, stop])
    h2 = model.fit(X, Y, epochs=7, initial_epoch=3, verbose=0, callbacks=[script, stop])
    assert len(h2.history["loss"]) == 4  # not stopped at once by the first fit's best
    assert stop.phases == 2 and stop.best == pytest.approx(0.6) and stop.best_epoch == 6


def test_without_reset_phase_two_competes_with_phase_one(images, imagenet_mobilenet):
    stop = EarlyStopping(
        "score", mode="min", patience=2, restore_best_weights=True, reset_on_phase=False
    )
    model, script, history = _fine_tune(images, stop, [1.0, 0.5, 0.4], [0.9, 0.8, 0.7, 0.6])
    # Stopped after `patience` epochs of phase 2 without beating phase 1's 0.4.
    assert history.epoch == [0, 1, 2, 3, 4]
    assert stop.stopped_epoch == 4 and stop.best_epoch == 2
    # Restoring goes back to phase 1's best weights, the backbone blocks phase 2 trained too.
    assert _same(script._values(), script.weights[2])
    assert not _same(script.weights[4], script.weights[2])


def test_min_epochs_holds_off_stopping_in_each_phase(images, imagenet_mobilenet):
    worse = [1.0, 2.0, 3.0, 4.0, 5.0]
    plain = keras.callbacks.EarlyStopping("score", mode="min", patience=0)
    model = _model()
    history = model.fit(
        X, Y, epochs=5, verbose=0, callbacks=[_Script(dict(enumerate(worse))), plain]
    )
    assert len(history.history["loss"]) == 2  # Keras stops at epoch index 1

    stop = EarlyStopping("score", mode="min", patience=0, min_epochs=3)
    _, _, history = _fine_tune(images, stop, worse, [6.0, 7.0, 8.0, 9.0, 10.0], cache="memory")
    # min_epochs counts per phase: three epochs of each, and phase 2 still begins at epoch 5.
    assert history.epoch == [0, 1, 2, 5, 6, 7]
    assert history.phases == [(0, 3), (3, 6)]


def test_stops_on_a_real_plateau_and_restores():
    model = _model()
    # A learning rate of 0 can never improve the loss after the first epoch.
    model.compile(keras.optimizers.SGD(0.0), "mse")
    stop = EarlyStopping("loss", patience=1, restore_best_weights=True)
    history = model.fit(X, Y, epochs=10, verbose=0, callbacks=[stop])
    assert len(history.history["loss"]) == 2 and stop.stopped_epoch == 1


def test_config_round_trip_and_bad_values():
    stop = EarlyStopping("val_acc", patience=3, mode="max", min_epochs=2, reset_on_phase=False)
    config = json.loads(json.dumps(stop.get_config()))
    assert EarlyStopping.from_config(config).get_config() == config
    assert isinstance(stop, keras.callbacks.EarlyStopping)
    with pytest.raises(KerasftError, match="mode"):
        EarlyStopping(mode="largest")
    with pytest.raises(KerasftError, match="min_epochs"):
        EarlyStopping(min_epochs=-1)
