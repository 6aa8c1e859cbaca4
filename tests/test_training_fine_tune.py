"""The two-phase recipe: what trains in each phase, what never moves, and the guardrail."""

from __future__ import annotations

import csv
import warnings

import keras
import numpy as np
import pytest

import kerasft as kft
from kerasft import config
from kerasft.errors import KerasftError
from kerasft.training.guard import warn_if_stale_compile
from kerasft.training.phase import current_phase


class Snapshots(keras.callbacks.Callback):
    """Records every variable's value at the start and end of each `fit` call (each phase)."""

    def __init__(self):
        super().__init__()
        self.phases = []

    def _values(self):
        return {v.path: v.numpy().copy() for v in self.model.weights}

    def on_train_begin(self, logs=None):
        self.phases.append({"phase": current_phase(self.model).number, "start": self._values()})

    def on_train_end(self, logs=None):
        self.phases[-1]["end"] = self._values()

    def changed(self, i):
        p = self.phases[i]
        return {k for k in p["start"] if not np.array_equal(p["start"][k], p["end"][k])}


@pytest.fixture(scope="module")
def run(imagenet_mobilenet):
    keras.utils.set_random_seed(0)
    # Real weights: a randomly initialised MobileNet's activations vanish (~1e-21) by block 12.
    model = kft.build("mobilenet", 3, input_shape=(32, 32, 3), image_size=64)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (48, 32, 32, 3)).astype("uint8")
    y = np.arange(48) % 3
    snaps = Snapshots()
    history = kft.fine_tune(
        model,
        (x, y),
        (x[:16], y[:16]),
        epochs=(2, 2),
        unfreeze_blocks=2,
        lr=1e-2,
        batch_size=16,
        callbacks=[snaps],
        verbose=0,
    )
    return model, snaps, history


def _paths(model, prefixes):
    return {v.path for v in model.weights if v.path.split("/")[0].startswith(prefixes)}


def test_phase_one_trains_only_the_head(run):
    model, snaps, _ = run
    assert snaps.phases[0]["phase"] == 1
    changed = snaps.changed(0)
    assert changed and changed <= _paths(model, ("kft_head",))


def test_phase_two_trains_only_unfrozen_blocks_and_head(run):
    model, snaps, _ = run
    assert snaps.phases[1]["phase"] == 2
    changed = snaps.changed(1)
    allowed = _paths(model, ("kft_head", "conv_dw_12", "conv_pw_12", "conv_dw_13", "conv_pw_13"))
    assert changed <= allowed
    # Every unfrozen kernel actually moved.
    for layer in ("conv_dw_12", "conv_pw_12", "conv_dw_13", "conv_pw_13"):
        assert any(p.startswith(layer + "/") for p in changed), layer
    # BatchNorm stays in inference mode: with the default train_bn only the unfrozen blocks'
    # gamma/beta train, never their moving statistics.
    bn = {p for p in changed if "_bn/" in p}
    assert bn and all(p.endswith(("/gamma", "/beta")) for p in bn), bn
    assert {p.split("/")[0] for p in bn} == {"conv_dw_12_bn", "conv_pw_12_bn", "conv_dw_13_bn",
                                             "conv_pw_13_bn"}  # fmt: skip


def test_frozen_batchnorm_statistics_never_change(run):
    _, snaps, _ = run
    for phase in range(2):
        moved = [p for p in snaps.changed(phase) if "moving_" in p]
        assert moved == []


def test_history_runs_across_phases(run):
    _, _, history = run
    assert history.epoch == [0, 1, 2, 3]
    assert history.phases == [(0, 2), (2, 4)]
    assert len(history.history["loss"]) == 4
    assert len(history.history["val_accuracy"]) == 4
    assert len(history.phase_wall_times) == 2


def test_run_dir_history_csv_continues_epochs(tmp_path):
    model = kft.build("mobilenet", 2, input_shape=(32, 32, 3), image_size=32, weights=None)
    x = np.random.default_rng(1).integers(0, 256, (16, 32, 32, 3))
    y = np.arange(16) % 2
    kft.fine_tune(model, (x, y), epochs=(1, 2), run_dir=tmp_path, verbose=0, batch_size=8)
    rows = list(csv.DictReader(open(tmp_path / "history.csv")))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    assert (tmp_path / "tensorboard" / "train").is_dir()


def test_bad_labels_fail_before_training():
    model = kft.build("mobilenet", 3, input_shape=(32, 32, 3), image_size=32, weights=None)
    x = np.zeros((4, 32, 32, 3), "uint8")
    with pytest.raises(KerasftError, match=r"label 5 at index 2 is outside \[0, 3\)"):
        kft.fine_tune(model, (x, np.array([0, 1, 5, 2])), epochs=1, verbose=0)
    with pytest.raises(KerasftError, match="NaN"):
        kft.fine_tune(model, (x, np.array([0, 1, np.nan, 2])), epochs=1, verbose=0)
    with pytest.raises(KerasftError, match="4 images but 3 labels"):
        kft.fine_tune(model, (x, np.array([0, 1, 2])), epochs=1, verbose=0)
    with pytest.raises(KerasftError, match=r"shape \(16, 16, 3\) but the model takes"):
        kft.fine_tune(model, (np.zeros((4, 16, 16, 3)), np.array([0, 1, 2, 0])), epochs=1)
    with pytest.raises(KerasftError, match="epochs="):
        kft.fine_tune(model, (x, np.array([0, 1, 2, 0])), epochs=(1, 2, 3))
    with pytest.raises(KerasftError, match="ft_warmup=1.5"):
        kft.fine_tune(model, (x, np.array([0, 1, 2, 0])), ft_warmup=1.5)


def test_recompile_guard_warns_when_trainability_changes_after_compile():
    model = kft.build("mobilenet", 2, input_shape=(32, 32, 3), image_size=32, weights=None)
    kft.compile(model, lr=1e-3)
    x, y = np.zeros((4, 32, 32, 3)), np.eye(2)[[0, 1, 0, 1]]
    kft.unfreeze(model, blocks=1)
    with pytest.warns(UserWarning, match="changed after the model was compiled"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[kft.RecompileGuard()])
    kft.compile(model, lr=1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        assert not warn_if_stale_compile(model)


def test_a_users_own_model_trains_its_own_head(imagenet_mobilenet):
    # A hand-built functional model around a nested backbone, no kft.build involved.
    backbone = keras.applications.MobileNet(
        include_top=False, weights="imagenet", input_shape=(32, 32, 3)
    )
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Rescaling(1 / 127.5, offset=-1)(inputs)
    x = backbone(x, training=False)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(2, activation="softmax", name="my_head")(x)
    model = keras.Model(inputs, outputs)
    kft.freeze(model)
    assert {v.path for v in model.trainable_weights} == {"my_head/kernel", "my_head/bias"}
    kft.unfreeze(model, blocks=1)
    paths = {v.path for v in model.trainable_weights}
    assert {"my_head/kernel", "conv_pw_13/kernel"} <= paths


def test_the_defaults_are_the_main_job_recipe():
    import inspect

    params = inspect.signature(kft.fine_tune).parameters
    shared = ("lr", "ft_schedule", "ft_warmup", "unfreeze_blocks", "train_bn", "optimizer", "label_smoothing",
              "batch_size", "seed", "cache", "backup_overhead", "verbose")  # fmt: skip
    assert {k: params[k].default for k in shared} == {k: config.DEFAULTS[k] for k in shared}
    assert params["epochs"].default == tuple(config.DEFAULTS["epochs"])
    # ft_lr=None is lr / 2: the job's 5e-4 at its 1e-3, and it follows a changed lr.
    assert params["ft_lr"].default is None
    assert config.DEFAULTS["ft_lr"] == config.DEFAULTS["lr"] / 2


def test_no_argument_runs_the_fast_path():
    """`fine_tune(model, train, val)` alone trains both phases on cached features, with the
    cosine over phase 2, in a seeded order (two runs give the same weights)."""
    x = np.random.default_rng(0).integers(0, 255, (64, 32, 32, 3)).astype("uint8")
    y, finals = np.arange(64) % 3, []
    for _ in range(2):
        keras.utils.set_random_seed(1)
        model = kft.build("mobilenet", 3, input_shape=(32, 32, 3), image_size=32, weights=None)
        rates = []
        probe = keras.callbacks.LambdaCallback(
            on_train_batch_begin=lambda b, logs, rates=rates, model=model: rates.append(
                float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
            )
        )
        history = kft.fine_tune(model, (x, y), (x[:16], y[:16]), callbacks=[probe], verbose=0)
        finals.append(model.get_weights())
    assert history.epoch == list(range(sum(config.DEFAULTS["epochs"])))
    assert {p: how.split(" ")[:2] for p, how in history.runner_report.items()} == {
        1: ["cached", "at"],
        2: ["cached", "at"],
    }
    assert history.runner_report[2].startswith("cached at block_7 ")  # below the top 6
    head_epochs, ft_epochs = config.DEFAULTS["epochs"]
    phase1, phase2 = rates[:head_epochs], rates[head_epochs:]  # one batch of 64 per epoch
    assert len(phase2) == ft_epochs
    assert phase1 == [pytest.approx(config.DEFAULTS["lr"])] * head_epochs
    # The default warm-up share of phase 2's steps rises linearly from 0, then the cosine
    # starts at ft_lr and falls at every step.
    warm, ft_lr = round(config.DEFAULTS["ft_warmup"] * ft_epochs), config.DEFAULTS["ft_lr"]
    assert phase2[:warm] == pytest.approx([ft_lr * i / warm for i in range(warm)])
    assert phase2[warm] == pytest.approx(ft_lr)
    assert all(np.diff(phase2[warm:]) < 0)
    assert all(np.array_equal(a, b) for a, b in zip(*finals))
