"""Gradual unfreezing inside one fit, optimizer slots for new weights, discriminative LRs."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from kerasft.callbacks.gradual_unfreezing import GradualUnfreezing
from kerasft.errors import KerasftError
from kerasft.optimizers import (
    add_trainable_variables,
    discriminative_lr,
    layer_groups,
    lr_multipliers,
)

X = np.random.default_rng(0).random((32, 4)).astype("float32")
Y = X.sum(axis=1, keepdims=True)


def _plain(frozen=("a", "bn", "b")):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(8, name="a"),
            keras.layers.BatchNormalization(name="bn"),
            keras.layers.Dense(8, name="b"),
            keras.layers.Dense(1, name="head"),
        ],
        name="net",
    )
    for name in frozen:
        model.get_layer(name).trainable = False
    return model


class _Changes(keras.callbacks.Callback):
    """Which weights each epoch changed, and the optimizer's slots around unfreezing."""

    def on_epoch_begin(self, epoch, logs=None):
        self._start = {w.path: w.numpy().copy() for w in self.model.weights}
        self.slots_before = {v.path: v.numpy().copy() for v in self.model.optimizer.variables}

    def on_epoch_end(self, epoch, logs=None):
        self.changed[epoch] = sorted(
            path.split("/")[-2] + "/" + path.split("/")[-1]
            for path, value in self._start.items()
            if not np.array_equal(value, self._weights()[path])
        )

    def _weights(self):
        return {w.path: w.numpy() for w in self.model.weights}

    def on_train_begin(self, logs=None):
        self.changed = {}


class _SlotsAfter(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.slots[epoch] = {v.path: v.numpy().copy() for v in self.model.optimizer.variables}

    def on_train_begin(self, logs=None):
        self.slots = {}


def test_unfreezes_on_schedule_and_new_weights_train():
    model = _plain()
    model.compile(keras.optimizers.Adam(1e-2), "mse")
    changes, after = _Changes(), _SlotsAfter()
    unfreeze = GradualUnfreezing({1: 1, 3: "all"}, blocks=[["a", "bn"], "b"])
    history = model.fit(
        X, Y, batch_size=8, epochs=4, verbose=0, callbacks=[changes, unfreeze, after]
    )
    head = ["head/bias", "head/kernel"]
    assert changes.changed[0] == head
    assert changes.changed[1] == ["b/bias", "b/kernel", *head]
    assert changes.changed[2] == ["b/bias", "b/kernel", *head]
    assert changes.changed[3] == [
        "a/bias",
        "a/kernel",
        "b/bias",
        "b/kernel",
        *head,
    ]  # BN stays frozen
    assert [(e, n, names) for e, n, names in unfreeze.events] == [
        (1, 1, ["b"]),
        (3, 2, ["a", "bn"]),
    ]
    assert history.history["unfrozen_blocks"] == [0, 1, 1, 2]
    assert not model.get_layer("bn").trainable
    # The next fit trains the new set as it is, without a "recompile" warning.
    import warnings

    from kerasft.training.guard import stale_layers

    assert stale_layers(model) == []
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        model.fit(X, Y, batch_size=8, epochs=1, verbose=0)


def test_optimizer_state_of_trained_weights_is_kept():
    model = _plain()
    model.compile(keras.optimizers.Adam(1e-2, name="adam"), "mse")
    changes, after = _Changes(), _SlotsAfter()
    model.fit(
        X,
        Y,
        batch_size=8,
        epochs=2,
        verbose=0,
        callbacks=[changes, GradualUnfreezing({1: 1}, blocks=["b"]), after],
    )
    before, rebuilt = changes.slots_before, after.slots[1]
    # Epoch 1: Adam moments of the head survive the rebuild, the new layer's start at zero.
    for path in ("adam/net_head_kernel_momentum", "adam/net_head_kernel_velocity"):
        assert np.abs(before[path]).sum() > 0
        np.testing.assert_array_equal(rebuilt[path], before[path])
    assert np.abs(rebuilt["adam/net_b_kernel_momentum"]).sum() == 0
    assert rebuilt["adam/iteration"] == before["adam/iteration"] == 4


def test_every_and_lr_factor_on_a_nested_backbone():
    keras.utils.set_random_seed(0)
    backbone = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8, name="c1"), keras.layers.Dense(8, name="c2")],
        name="backbone",
    )
    backbone.trainable = False
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(1, name="head")(backbone(inputs)))
    model.compile(keras.optimizers.SGD(0.1), "mse")
    changes = _Changes()
    unfreeze = GradualUnfreezing(every=1, blocks_per_step=1, blocks=["c1", "c2"], lr_factor=0.5)
    model.fit(X, Y, batch_size=8, epochs=3, verbose=0, callbacks=[changes, unfreeze])
    assert changes.changed[0] == ["head/bias", "head/kernel"]
    assert "c2/kernel" in changes.changed[1] and "c1/kernel" not in changes.changed[1]
    assert "c1/kernel" in changes.changed[2]
    assert float(model.optimizer.learning_rate) == pytest.approx(0.1 * 0.5**2)
    assert backbone.trainable


def test_default_blocks_are_the_frozen_groups():
    model = _plain(frozen=("a", "bn", "b"))
    model.compile(keras.optimizers.SGD(0.1), "mse")
    unfreeze = GradualUnfreezing({1: "all"})
    model.fit(X, Y, batch_size=8, epochs=2, verbose=0, callbacks=[unfreeze])
    assert model.get_layer("a").trainable and model.get_layer("b").trainable
    assert not model.get_layer("bn").trainable


def test_bad_schedules():
    with pytest.raises(KerasftError, match="exactly one"):
        GradualUnfreezing()
    with pytest.raises(KerasftError, match="shrink"):
        GradualUnfreezing({1: 2, 3: 1})
    with pytest.raises(KerasftError, match="positive"):
        GradualUnfreezing({1: 0})
    model = _plain()
    model.compile(keras.optimizers.SGD(0.1), "mse")
    with pytest.raises(KerasftError, match="nope"):
        model.fit(X, Y, epochs=1, verbose=0, callbacks=[GradualUnfreezing({1: 1}, blocks=["nope"])])
    config = json.loads(
        json.dumps(GradualUnfreezing({1: 1, 2: "all"}, blocks=["a", ["b", "bn"]]).get_config())
    )
    again = GradualUnfreezing.from_config(config).get_config()
    assert json.loads(json.dumps(again)) == config


def test_add_trainable_variables_outside_fit():
    model = _plain(frozen=("b",))
    model.compile(keras.optimizers.SGD(0.1, momentum=0.9), "mse")
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0)
    momentum = {v.path: v.numpy().copy() for v in model.optimizer.variables}
    model.get_layer("b").trainable = True
    added = add_trainable_variables(model.optimizer, model.trainable_variables)
    assert sorted(v.path for v in added) == ["net/b/bias", "net/b/kernel"]
    for v in model.optimizer.variables:
        if v.path in momentum:
            np.testing.assert_array_equal(v.numpy(), momentum[v.path])
    model.make_train_function(force=True)
    before = model.get_layer("b").get_weights()[0].copy()
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0)
    assert not np.array_equal(before, model.get_layer("b").get_weights()[0])
    assert add_trainable_variables(model.optimizer, model.trainable_variables) == []


def _update_sizes(optimizer_factory, multipliers=None, **kw):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(4, name="low"),
            keras.layers.Dense(4, name="mid"),
            keras.layers.Dense(1, name="top"),
        ],
        name="net",
    )
    optimizer = optimizer_factory()
    if multipliers is not None:
        discriminative_lr(optimizer, model, multipliers, **kw)
    model.compile(optimizer, "mse")
    before = [w.copy() for w in model.get_weights()]
    model.fit(X, Y, batch_size=32, epochs=1, verbose=0, shuffle=False)
    return [after - b for after, b in zip(model.get_weights(), before)], model, optimizer


# Deltas are differences of float32 weights of magnitude < 1: a few ulps of absolute error.
ATOL = 8 * float(np.finfo("float32").eps)


def test_discriminative_lr_scales_each_update_with_sgd():
    plain, _, _ = _update_sizes(lambda: keras.optimizers.SGD(0.01))
    scaled, model, optimizer = _update_sizes(
        lambda: keras.optimizers.SGD(0.01), {"low": 0.01, "mid": 0.1}
    )
    # One SGD step from the same weights: each update is the plain one times its multiplier.
    for i, factor in enumerate([0.01, 0.01, 0.1, 0.1, 1.0, 1.0]):
        np.testing.assert_allclose(scaled[i], plain[i] * factor, rtol=1e-3, atol=ATOL)
    assert lr_multipliers(optimizer)["net/low/kernel"] == 0.01
    assert "net/top/kernel" not in lr_multipliers(optimizer)


def test_discriminative_lr_spread_and_list_with_adam():
    plain, _, _ = _update_sizes(lambda: keras.optimizers.Adam(1e-3))
    spread, _, optimizer = _update_sizes(
        lambda: keras.optimizers.Adam(1e-3), 100.0, groups=["low", "mid", "top"]
    )
    # Geometric like fastai's slice(lr/100, lr): 1/100, 1/10, 1 (Adam's first step is lr-sized).
    assert sorted(set(lr_multipliers(optimizer).values())) == pytest.approx([0.01, 0.1, 1.0])
    for i, factor in enumerate([0.01, 0.01, 0.1, 0.1, 1.0, 1.0]):
        np.testing.assert_allclose(spread[i], plain[i] * factor, rtol=1e-3, atol=ATOL)
    listed, _, _ = _update_sizes(
        lambda: keras.optimizers.Adam(1e-3), [0.5, 1.0, 2.0], groups=["low", "mid", "top"]
    )
    np.testing.assert_allclose(listed[4], plain[4] * 2.0, rtol=1e-3, atol=ATOL)


def test_layer_groups_and_bad_multipliers():
    model = _plain(frozen=())
    groups = layer_groups(model, [["a", "bn"], "b", model.get_layer("head")])
    assert [[layer.name for layer in g] for g in groups] == [["a", "bn"], ["b"], ["head"]]
    assert len(layer_groups(model)) >= 2  # default split of a plain model
    with pytest.raises(KerasftError, match="one per group"):
        discriminative_lr(keras.optimizers.SGD(0.1), model, [1.0, 2.0], groups=["a", "b", "head"])
    with pytest.raises(KerasftError, match="positive"):
        discriminative_lr(keras.optimizers.SGD(0.1), model, {"a": 0})
    with pytest.raises(KerasftError, match="Did you mean"):
        discriminative_lr(keras.optimizers.SGD(0.1), model, {"hed": 0.1})
