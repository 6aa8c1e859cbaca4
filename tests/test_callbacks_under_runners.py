"""Every callback kerasft names sees what a plain `fit` shows it, under both runners, in both phases.

Each case runs `kft.fine_tune` (phase 1: head, phase 2: top blocks) twice, once with the plain
runner (`cache="off"`) and once with the cached one, with the callback under test and a probe
after it. The probe records, per epoch, the epoch, the phase, the log keys and whether it is
bound to the user's model, and the learning rate of every batch. Both runs must record the
same, and each case checks the callback's own effect (the epochs it stopped, the files it
wrote, the rates it set) in both phases.
"""

from __future__ import annotations

import io
import json
import math
import warnings
from pathlib import Path
from types import SimpleNamespace

import keras
import numpy as np
import pytest
import tensorflow as tf
from test_cache_equivalence import learnable_data, make_model

import kerasft as kft
from kerasft.cache import CachedRunner
from kerasft.training.phase import current_phase

LR, FT_LR = 3e-2, 3e-3
TRAIN, VAL = learnable_data(48), learnable_data(16, seed=1)
STEPS = 3  # 48 images in batches of 16


class Probe(keras.callbacks.Callback):
    """What a callback sees: epochs, phases, log keys, its model, and each batch's rate."""

    def __init__(self, full: keras.Model):
        super().__init__()
        self.full = full
        self.epochs, self.phases, self.keys, self.bound, self.lrs = [], [], [], [], []
        self.phase_end_weights, self.end_lrs = {}, []

    def on_train_batch_begin(self, batch, logs=None):
        self.lrs.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append(epoch)
        self.phases.append(current_phase(self.model).number)
        self.keys.append(sorted(logs))
        self.bound.append(self.model is self.full)

    def on_train_end(self, logs=None):
        self.end_lrs.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))
        weights = {v.path: v.numpy().copy() for v in self.model.weights}
        self.phase_end_weights[current_phase(self.model).number] = weights


class Poison(keras.callbacks.Callback):
    """Sets the head's kernel to NaN at the first batch of phase 1 (a diverged step)."""

    def on_train_batch_begin(self, batch, logs=None):
        if current_phase(self.model).number == 1 and batch == 0 and not getattr(self, "done", 0):
            self.done = True
            head = [layer for layer in self.model.layers if isinstance(layer, keras.layers.Dense)]
            kernel = head[-1].kernel
            kernel.assign(np.full(kernel.shape, np.nan, "float32"))


def run(runner: str, callbacks, epochs=(2, 2), **kwargs):
    model = make_model()
    probe = Probe(model)
    cache = "off" if runner == "fit" else CachedRunner("memory", dtype="float32", verbose=0)
    history = kft.fine_tune(
        model,
        TRAIN,
        VAL,
        epochs=epochs,
        lr=LR,
        ft_lr=FT_LR,
        batch_size=16,
        unfreeze_blocks=2,  # of the tiny backbone's 4: phase 2 has a frozen part to cache
        verbose=0,
        cache=cache,
        callbacks=[*callbacks, probe],
        **kwargs,
    )
    return SimpleNamespace(model=model, history=history, probe=probe, callbacks=callbacks)


def events(log_dir: Path, tag: str) -> dict[int, float]:
    """step -> value of the scalar `tag` in every TensorBoard event file under `log_dir`."""
    found = {}
    for path in sorted(Path(log_dir).rglob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                if value.tag == tag:
                    found[event.step] = float(tf.make_ndarray(value.tensor))
    return found


def improvements(values) -> list[int]:
    """The epochs (1-based) whose value beat every earlier one."""
    best, out = -math.inf, []
    for epoch, value in enumerate(values, start=1):
        if value > best:
            best = value
            out.append(epoch)
    return out


# name -> (callbacks for one run, given tmp_path; the effect to check on a finished run)
CASES = {}


def case(name, epochs=(2, 2), cached=(1, 2), **kwargs):
    """Register a case: `cached` are the phases the cached runner must run on the cache."""

    def register(fn):
        CASES[name] = (fn, epochs, set(cached), kwargs)
        return fn

    return register


@case("keras EarlyStopping(val_accuracy)", epochs=(3, 3))
def _(tmp):
    # min_delta no epoch can beat: each phase stops after its second epoch.
    stop = keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=0, min_delta=1.0)

    def check(r):
        assert r.probe.epochs == [0, 1, 3, 4]

    return [stop], check


@case("early_stopping(val_accuracy, restore_best_weights)", epochs=(3, 3))
def _(tmp):
    stop = kft.callbacks.get(
        "early_stopping", monitor="val_accuracy", patience=0, min_delta=1.0,
        restore_best_weights=True,
    )  # fmt: skip

    def check(r):
        assert r.probe.epochs == [0, 1, 3, 4]
        assert stop.phases == 2

    return [stop], check


@case("model_checkpoint(val_accuracy, save_best_only)")
def _(tmp):
    path = tmp / "ckpt-{epoch}.keras"
    checkpoint = kft.callbacks.get(
        "model_checkpoint", filepath=str(path), monitor="val_accuracy", save_best_only=True
    )

    def check(r):
        saved = sorted(int(p.stem.split("-")[1]) for p in tmp.glob("ckpt-*.keras"))
        assert saved == improvements(r.history.history["val_accuracy"])
        reloaded = keras.models.load_model(tmp / f"ckpt-{saved[-1]}.keras")
        assert reloaded.input_shape == (None, 16, 16, 3)  # the full model, raw images in

    return [checkpoint], check


@case("reduce_lr_on_plateau")
def _(tmp):
    plateau = kft.callbacks.get(
        "reduce_lr_on_plateau", monitor="val_loss", factor=0.5, patience=0, min_delta=10.0
    )

    def check(r):
        # The second epoch of each phase never improves by 10: at its end the rate halves.
        assert r.probe.lrs == pytest.approx([LR] * 2 * STEPS + [FT_LR] * 2 * STEPS)
        assert r.probe.end_lrs == pytest.approx([LR / 2, FT_LR / 2])

    return [plateau], check


@case("backup_and_restore")
def _(tmp):
    backup = kft.callbacks.get("backup_and_restore", backup_dir=str(tmp / "backup"))
    seen = []
    peek = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append(
            json.loads((tmp / "backup" / "training_metadata.json").read_text())["epoch"]
        )
    )

    def check(r):
        assert seen == [1, 2, 3, 4]  # every epoch backed up (as the epoch to resume at)
        assert not (tmp / "backup").exists()  # deleted once each phase finished

    return [backup, peek], check


@case("terminate_on_nan")
def _(tmp):
    def check(r):
        # NaN at the first batch of each phase (the poisoned head stays NaN): one epoch each.
        assert r.probe.epochs == [0, 2]

    return [Poison(), kft.callbacks.get("terminate_on_nan")], check


@case("csv_logger")
def _(tmp):
    logger = kft.callbacks.get("csv_logger", filename=str(tmp / "log.csv"), append=True)

    def check(r):
        rows = (tmp / "log.csv").read_text().splitlines()
        assert [row.split(",")[0] for row in rows[1:]] == ["0", "1", "2", "3"]
        assert "val_accuracy" in rows[0].split(",")

    return [logger], check


@case("tensorboard")
def _(tmp):
    board = kft.callbacks.get("tensorboard", log_dir=str(tmp / "tb"))

    def check(r):
        assert sorted(events(tmp / "tb" / "validation", "epoch_accuracy")) == [0, 1, 2, 3]

    return [board], check


@case("learning_rate_scheduler")
def _(tmp):
    schedule = kft.callbacks.get(
        "learning_rate_scheduler", schedule=lambda epoch, lr: 0.01 * (epoch + 1)
    )

    def check(r):
        expected = [0.01 * (epoch + 1) for epoch in range(4) for _ in range(STEPS)]
        assert r.probe.lrs == pytest.approx(expected)

    return [schedule], check


def _changes_the_rate(r):
    assert len(set(np.round(r.probe.lrs, 12))) > 2, r.probe.lrs


for _name, _kwargs in {
    "one_cycle": {"max_lr": 0.01},
    "sgdr": {"first_cycle_epochs": 1.0},
    "warmup": {"warmup_epochs": 1.0},
    "step_decay": {"factor": 0.5, "every": 1},
    "exponential_decay": {"decay_rate": 0.5},
    "polynomial_decay": {"decay_epochs": 2},
    "phase_cosine": {},
}.items():

    def _lr_case(tmp, name=_name, kwargs=_kwargs):
        return [kft.callbacks.get(name, **kwargs)], _changes_the_rate

    case(_name)(_lr_case)


@case("phase_cosine: phase 1 keeps its rate")
def _(tmp):
    def check(r):
        assert r.probe.lrs[: 2 * STEPS] == pytest.approx([LR] * 6)
        phase2 = r.probe.lrs[2 * STEPS :]
        assert phase2[0] == pytest.approx(FT_LR) and all(np.diff(phase2) < 0)

    return [kft.callbacks.get("phase_cosine")], check


@case("gradient_clipping", optimizer="sgd")
def _(tmp):
    def check(r):
        # Every gradient is clipped to norm 1e-6: with momentum (at most 10x) the weights move
        # by at most lr * 1e-5 a step in either phase, where unclipped steps move them ~1e-2.
        start = {v.path: v.numpy() for v in make_model().weights}
        moved = max(np.abs(v.numpy() - start[v.path]).max() for v in r.model.weights)
        assert moved <= LR * 1e-5 * 4 * STEPS

    return [kft.callbacks.get("gradient_clipping", clipnorm=1e-6)], check


@case("gradient_norm")
def _(tmp):
    def check(r):
        norms = r.history.history["grad_norm"]
        assert len(norms) == 4 and all(np.isfinite(norms)) and min(norms) > 0

    return [kft.callbacks.get("gradient_norm")], check


@case("gradual_unfreezing", cached=())
def _(tmp):
    def check(r):
        # The top block trains from phase 1's second epoch on: it moved during phase 1.
        start = {v.path: v.numpy() for v in make_model().weights}
        end = r.probe.phase_end_weights[1]
        kernel = next(p for p in end if "block4_conv" in p and "kernel" in p)
        assert not np.allclose(end[kernel], start[kernel])
        below = next(p for p in end if "block3_conv" in p and "kernel" in p)
        assert np.array_equal(end[below], start[below])

    return [kft.callbacks.get("gradual_unfreezing", schedule={1: 1})], check


@case("lr_finder")
def _(tmp):
    finder = kft.callbacks.get("lr_finder", num_steps=2, min_lr=1e-4, max_lr=1e-1)

    def check(r):
        assert len(finder.result.lrs) == 2 and finder.result.lrs[1] > finder.result.lrs[0]
        # The sweep ends the phase and puts the rate back.
        assert r.probe.epochs == [0, 2]

    return [finder], check


@case("nan_guard")
def _(tmp):
    guard = kft.callbacks.get("nan_guard")

    def check(r):
        # Phase 1 stopped at its NaN (its event is reset when phase 2 starts); phase 2 trains
        # from the restored weights.
        assert r.probe.epochs == [0, 2, 3] and guard.event is None
        loss = r.history.history["loss"]
        assert np.isnan(loss[0]) and np.isfinite(loss[1:]).all()
        assert all(np.isfinite(w).all() for w in r.model.get_weights())

    return [Poison(), guard], check


@case("tensorboard_extras")
def _(tmp):
    extras = kft.callbacks.get("tensorboard_extras", log_dir=str(tmp / "tb"))

    def check(r):
        # Written when what trains changes: at the start of each phase.
        assert events(tmp / "tb", "phase") == {0: 1.0, 2: 2.0}

    return [extras], check


@case("progress_bar")
def _(tmp):
    out = io.StringIO()
    bar = kft.callbacks.get("progress_bar", file=out, mininterval=0)

    def check(r):
        assert bar.steps_done == 4 * STEPS
        assert "phase 2 epoch 4/4" in out.getvalue()

    return [bar], check


def _together(names):
    """One case of several callbacks that only record (each writes under its own folder), so
    the suite trains once for all of them; each keeps its own check."""
    makers = [CASES.pop(name)[0] for name in names]

    def make(tmp):
        callbacks, checks = [], []
        for i, maker in enumerate(makers):
            folder = tmp / str(i)
            folder.mkdir()
            made, check = maker(folder)
            callbacks += made
            checks.append(check)

        def check_all(r):
            for check in checks:
                check(r)

        return callbacks, check_all

    return make


LOGGERS = ("model_checkpoint(val_accuracy, save_best_only)", "backup_and_restore", "csv_logger",
           "tensorboard", "gradient_norm", "tensorboard_extras", "progress_bar")  # fmt: skip
case(" + ".join(LOGGERS))(_together(LOGGERS))


@pytest.mark.parametrize("name", sorted(CASES))
def test_callback_under_both_runners(name, tmp_path):
    make, epochs, expect_cached, kwargs = CASES[name]
    runs = {}
    for runner in ("fit", "cached"):
        tmp = tmp_path / runner
        tmp.mkdir()
        callbacks, check = make(tmp)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # NaNGuard reports the NaN
            runs[runner] = run(runner, callbacks, epochs, **kwargs)
        check(runs[runner])
    plain, cached = runs["fit"].probe, runs["cached"].probe
    report = runs["cached"].history.runner_report
    assert {p for p, how in report.items() if how.startswith("cached at")} == expect_cached
    assert cached.bound and all(cached.bound)
    assert cached.epochs == plain.epochs
    assert cached.phases == plain.phases
    assert cached.keys == plain.keys
    assert cached.lrs == pytest.approx(plain.lrs)
    assert cached.end_lrs == pytest.approx(plain.end_lrs)
