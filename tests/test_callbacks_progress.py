"""ProgressBar counts every training step over several fit calls, as the two fine-tuning phases are."""

from __future__ import annotations

import io
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasft.callbacks import ProgressBar
from kerasft.errors import KerasftError
from kerasft.training.phase import Phase, running_phase

X, Y = np.random.default_rng(0).normal(size=(24, 3)).astype("float32"), np.zeros((24, 1))


def make_model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.01), "mse")
    return model


def last_state(text: str) -> str:
    """The bar as last drawn (tqdm redraws in place with carriage returns)."""
    return [part for part in re.split(r"[\r\n]", text) if part.strip()][-1]


def test_counts_steps_over_two_fits_with_initial_epoch():
    model, out = make_model(), io.StringIO()
    bar = ProgressBar(file=out, mininterval=0)
    model.fit(X, Y, batch_size=8, epochs=2, verbose=0, callbacks=[bar])  # 3 steps per epoch
    assert bar.steps_done == 6
    assert "6/6" in last_state(out.getvalue()) and "epoch 2/2" in last_state(out.getvalue())
    model.fit(X, Y, batch_size=8, epochs=5, initial_epoch=2, verbose=0, callbacks=[bar])
    assert bar.steps_done == 15
    final = last_state(out.getvalue())
    assert "15/15" in final and "epoch 5/5" in final and "loss=" in final


def test_total_epochs_gives_the_whole_run_from_the_start():
    model, out = make_model(), io.StringIO()
    bar = ProgressBar(total_epochs=5, file=out, mininterval=0)
    seen_totals = []
    probe = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda e, logs: seen_totals.append(bar.total_steps)
    )
    model.fit(X, Y, batch_size=8, epochs=2, verbose=0, callbacks=[bar, probe])
    assert seen_totals == [15, 15]  # ETA over all 5 epochs while still in the first phase
    assert "6/15" in last_state(out.getvalue())
    model.fit(X, Y, batch_size=8, epochs=5, initial_epoch=2, verbose=0, callbacks=[bar, probe])
    assert seen_totals[-1] == 15 and bar.total_steps is None  # closed after the last epoch
    assert "15/15" in last_state(out.getvalue()) and "100%" in last_state(out.getvalue())


def test_a_phase_stopped_early_keeps_the_total_honest():
    model, out = make_model(), io.StringIO()
    bar = ProgressBar(total_epochs=6, file=out, mininterval=0)
    stop = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda e, logs: setattr(model, "stop_training", e == 1)
    )
    with running_phase(model, Phase(1, 0, 4, total_epochs=6, lr=1e-3)):  # as kft.fine_tune
        model.fit(X, Y, batch_size=8, epochs=4, verbose=0, callbacks=[bar, stop])  # stops: 2
    assert bar.steps_done == 6 and bar.total_steps == 18
    with running_phase(model, Phase(2, 4, 6, total_epochs=6, lr=1e-4)):
        model.fit(X, Y, batch_size=8, epochs=6, initial_epoch=4, verbose=0, callbacks=[bar])
    assert bar.steps_done == 12
    assert "12/12" in last_state(out.getvalue()) and "phase 2 epoch 6/6" in last_state(
        out.getvalue()
    )


@pytest.mark.filterwarnings("ignore:.*(ran out of data|shuffle=True).*:UserWarning")
def test_unsized_dataset_learns_steps_per_epoch():
    data = tf.data.Dataset.from_tensor_slices((X, Y)).batch(8).repeat(1)
    model, out = make_model(), io.StringIO()
    bar = ProgressBar(file=out, mininterval=0)
    model.fit(data.filter(lambda x, y: True), epochs=3, verbose=0, callbacks=[bar])
    assert bar.steps_done == 9
    assert "9/9" in last_state(out.getvalue())


def test_warns_when_keras_progbar_is_on_and_rejects_bad_total():
    model = make_model()
    with pytest.warns(UserWarning, match="verbose=0"):
        model.fit(X, Y, epochs=1, verbose=2, callbacks=[ProgressBar(file=io.StringIO())])
    with pytest.raises(KerasftError, match="total_epochs"):
        ProgressBar(total_epochs=0)
