"""`build_before_fit`: the cached runner's train step is traced once, not twice."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from kerasft.cache.runner import build_before_fit


class CountsTraces(keras.layers.Layer):
    """Identity; counts how often its `call` runs in Python (once per trace in graph mode)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.calls = 0

    def call(self, inputs):
        self.calls += 1
        return inputs


def _model():
    counter = CountsTraces()
    inputs = keras.Input((4,))
    outputs = keras.layers.Dense(3, activation="softmax")(counter(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.Adam(1e-3), "categorical_crossentropy", metrics=["accuracy"])
    return model, counter


@pytest.mark.parametrize("prebuilt", [False, True])
def test_a_prebuilt_model_traces_its_first_step_once(prebuilt):
    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    y = np.eye(3, dtype="float32")[np.arange(32) % 3]
    model, counter = _model()
    if prebuilt:
        build_before_fit(model, y)
        assert model.optimizer.built
        assert len(model.optimizer.variables) == 2 + 2 * len(model.trainable_variables)
    before = counter.calls
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    # Keras alone creates the slots inside the first trace, so tf.function traces it twice.
    assert counter.calls - before == (1 if prebuilt else 2)
    assert model.metrics_names == ["loss", "compile_metrics"]
