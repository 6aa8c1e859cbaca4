"""EarlyStopping across two fine-tuning phases (two `fit` calls), and min_epochs."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

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
    the weights of every epoch, so tests control the monitored value exactly."""

    def __init__(self, scores):
        super().__init__()
        self.scores = scores
        self.weights = {}

    def on_epoch_end(self, epoch, logs=None):
        logs["score"] = self.scores[epoch]
        self.weights[epoch] = [w.copy() for w in self.model.get_weights()]


def _two_phases(stop, phase1, phase2, set_phase=True):
    model = _model()
    script = _Script(
        {**dict(enumerate(phase1)), **{len(phase1) + i: s for i, s in enumerate(phase2)}}
    )
    model._kerasft_phase = 1
    h1 = model.fit(X, Y, epochs=len(phase1), verbose=0, callbacks=[script, stop])
    if set_phase:
        model._kerasft_phase = 2  # what kft.fine_tune does for phase 2
    else:
        del model._kerasft_phase  # a plain Keras project: each fit is a phase
    h2 = model.fit(
        X,
        Y,
        epochs=len(phase1) + len(phase2),
        initial_epoch=len(phase1),
        verbose=0,
        callbacks=[script, stop],
    )
    return model, script, h1, h2


@pytest.mark.parametrize("set_phase", [True, False])
def test_phase_two_gets_its_own_patience_and_best(set_phase):
    stop = EarlyStopping("score", mode="min", patience=2, restore_best_weights=True)
    # Phase 2 never beats phase 1's best (0.4) but keeps improving on its own.
    model, script, h1, h2 = _two_phases(stop, [1.0, 0.5, 0.4], [0.9, 0.8, 0.7, 0.6], set_phase)
    assert len(h1.history["loss"]) == 3
    assert len(h2.history["loss"]) == 4  # not stopped at once
    assert stop.phases == 2 and stop.best == pytest.approx(0.6) and stop.best_epoch == 6
    for got, want in zip(model.get_weights(), script.weights[6]):
        np.testing.assert_array_equal(got, want)


def test_without_reset_phase_two_competes_with_phase_one():
    stop = EarlyStopping(
        "score", mode="min", patience=2, restore_best_weights=True, reset_on_phase=False
    )
    model, script, _, h2 = _two_phases(stop, [1.0, 0.5, 0.4], [0.9, 0.8, 0.7, 0.6])
    assert len(h2.history["loss"]) == 2  # stopped after `patience` epochs without beating 0.4
    assert stop.stopped_epoch == 4 and stop.best_epoch == 2
    # Restoring goes back to phase 1's best weights.
    for got, want in zip(model.get_weights(), script.weights[2]):
        np.testing.assert_array_equal(got, want)


def test_min_epochs_holds_off_stopping_in_each_phase():
    worse = [1.0, 2.0, 3.0, 4.0, 5.0]
    plain = keras.callbacks.EarlyStopping("score", mode="min", patience=0)
    model = _model()
    history = model.fit(
        X, Y, epochs=5, verbose=0, callbacks=[_Script(dict(enumerate(worse))), plain]
    )
    assert len(history.history["loss"]) == 2  # Keras stops at epoch index 1

    stop = EarlyStopping("score", mode="min", patience=0, min_epochs=3)
    _, _, h1, h2 = _two_phases(stop, worse, [6.0, 7.0, 8.0, 9.0, 10.0])
    assert len(h1.history["loss"]) == 3
    assert len(h2.history["loss"]) == 3  # min_epochs counts per phase


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
