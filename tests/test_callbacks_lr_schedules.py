"""Learning-rate schedules and their callbacks: the rate at every step, logs, momentum cycling."""

from __future__ import annotations

import csv
import inspect
import json
import math

import keras
import numpy as np
import pytest

import kerasft.schedules as schedules
from kerasft.callbacks.cosine_restarts import CosineRestarts
from kerasft.callbacks.exponential_decay import ExponentialDecay
from kerasft.callbacks.lr_schedule_callback import LRScheduleCallback
from kerasft.callbacks.one_cycle import OneCycle
from kerasft.callbacks.phase_cosine import PhaseCosine
from kerasft.callbacks.polynomial_decay import PolynomialDecay
from kerasft.callbacks.step_decay import StepDecay
from kerasft.callbacks.warmup import Warmup
from kerasft.errors import KerasftError
from kerasft.training.phase import current_phase

X = np.random.default_rng(0).random((32, 4)).astype("float32")
Y = X.sum(axis=1, keepdims=True)


def _model(optimizer):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer, "mse")
    return model


class _SeenLR(keras.callbacks.Callback):
    """The optimizer's rate as the train step sees it (read after the other callbacks ran)."""

    def on_train_batch_begin(self, batch, logs=None):
        self.seen.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))

    def on_train_begin(self, logs=None):
        self.seen = []


def _fit(callback, optimizer=None, epochs=2, batch_size=8, **kw):
    seen = _SeenLR()
    model = _model(optimizer or keras.optimizers.SGD(0.1))
    history = model.fit(
        X, Y, batch_size=batch_size, epochs=epochs, verbose=0, callbacks=[callback, seen], **kw
    )
    return model, history, seen.seen


def test_one_cycle_schedule_matches_fastai_formula():
    total, max_lr = 100, 1e-2
    schedule = schedules.OneCycleSchedule(max_lr, total)
    start, end = max_lr / 25, max_lr / 1e5

    def expected(step):  # fastai combined_cos(0.25, start, max, end)
        def cos(a, b, p):
            return a + (b - a) / 2 * (1 - math.cos(math.pi * p))

        return cos(start, max_lr, step / 25) if step < 25 else cos(max_lr, end, (step - 25) / 75)

    got = [float(schedule(s)) for s in range(total + 1)]
    np.testing.assert_allclose(got, [expected(s) for s in range(total + 1)], rtol=1e-4, atol=1e-9)
    assert np.argmax(got) == 25


def test_one_cycle_callback_sets_every_step_and_cycles_beta_1():
    callback = OneCycle(max_lr=0.01)
    model, history, seen = _fit(callback, keras.optimizers.Adam(0.01), epochs=4)
    total = 4 * 4
    expected = [float(schedules.OneCycleSchedule(0.01, total)(s)) for s in range(total)]
    np.testing.assert_allclose(seen, expected, rtol=1e-5)
    assert callback.learning_rates == pytest.approx(expected, rel=1e-5)
    # Momentum goes 0.95 -> 0.85 -> 0.95, lowest where the rate peaks.
    moms = np.array(callback.momentums)
    assert moms[0] == pytest.approx(0.95) and moms.min() == pytest.approx(0.85, abs=1e-3)
    assert int(np.argmin(moms)) == int(np.argmax(seen))
    assert history.history["momentum"][-1] == pytest.approx(moms[-1])
    # After fit, beta_1 is a plain float again (so the optimizer still serializes).
    assert model.optimizer.beta_1 == 0.9 and isinstance(model.optimizer.beta_1, float)
    json.dumps(keras.optimizers.serialize(model.optimizer))


def test_one_cycle_momentum_really_reaches_the_train_step():
    # Same rates, momentum cycled or not: the trained weights must differ.
    def train(cycle):
        model, _, _ = _fit(
            OneCycle(0.05, cycle_momentum=cycle), keras.optimizers.SGD(0.05, momentum=0.9)
        )
        return model.get_weights()[0]

    assert not np.allclose(train(True), train(False))


def test_one_cycle_restarts_each_fit_from_initial_epoch():
    callback = OneCycle(max_lr=0.1)
    model = _model(keras.optimizers.SGD(0.1, momentum=0.9))
    model.fit(X, Y, batch_size=8, epochs=2, verbose=0, callbacks=[callback])
    first = list(callback.learning_rates)
    model.fit(X, Y, batch_size=8, epochs=5, initial_epoch=2, verbose=0, callbacks=[callback])
    # Phase 2: a full new cycle over its 3 epochs, starting low again.
    assert len(callback.learning_rates) == 12
    assert callback.learning_rates[0] == pytest.approx(first[0])
    assert max(callback.learning_rates) == pytest.approx(0.1, rel=1e-3)
    assert model.optimizer.momentum == 0.9


def test_cosine_restarts_restart_at_cycle_ends():
    callback = CosineRestarts(first_cycle_epochs=1, t_mul=2.0)
    _, _, seen = _fit(callback, epochs=3)
    keras_schedule = keras.optimizers.schedules.CosineDecayRestarts(0.1, 4, t_mul=2.0)
    np.testing.assert_allclose(seen, [float(keras_schedule(s)) for s in range(12)], rtol=1e-5)
    assert seen[4] == pytest.approx(0.1) and seen[3] < 0.02  # restart after the first epoch


def test_step_decay_every_and_at():
    _, history, seen = _fit(StepDecay(factor=0.5, every=2), epochs=5)
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025])
    assert seen[7] == pytest.approx(0.1) and seen[8] == pytest.approx(0.05)  # exactly at epoch 2
    _, history, _ = _fit(StepDecay(initial_lr=1.0, factor=0.1, at=[1, 3]), epochs=4)
    assert history.history["learning_rate"] == pytest.approx([1.0, 0.1, 0.1, 0.01])


def test_step_decay_continues_with_initial_epoch():
    callback = StepDecay(factor=0.5, every=1)
    model = _model(keras.optimizers.SGD(0.1))
    model.fit(X, Y, batch_size=8, epochs=4, initial_epoch=2, verbose=0, callbacks=[callback])
    assert callback.learning_rates[0] == pytest.approx(0.1 * 0.5**2)


def test_exponential_and_polynomial_decay_per_step():
    _, _, seen = _fit(ExponentialDecay(decay_rate=0.5, decay_epochs=1), epochs=2)
    np.testing.assert_allclose(seen, [0.1 * 0.5 ** (s / 4) for s in range(8)], rtol=1e-5)
    _, _, seen = _fit(PolynomialDecay(end_lr=0.0, power=2.0), epochs=2)
    np.testing.assert_allclose(
        seen, [0.1 * (1 - s / 8) ** 2 for s in range(8)], rtol=1e-5, atol=1e-9
    )


def test_warmup_wraps_a_callback_and_a_keras_schedule():
    callback = Warmup(ExponentialDecay(decay_rate=0.5), warmup_steps=4)
    _, _, seen = _fit(callback, epochs=2)
    assert seen[:5] == pytest.approx([0.0, 0.025, 0.05, 0.075, 0.1])
    assert seen[5] == pytest.approx(0.1 * 0.5 ** (1 / 4), rel=1e-5)

    keras_schedule = keras.optimizers.schedules.CosineDecay(0.2, decay_steps=4)
    _, _, seen = _fit(Warmup(keras_schedule, warmup_epochs=1, start_lr=0.02), epochs=2)
    assert seen[0] == pytest.approx(0.02) and seen[4] == pytest.approx(0.2)
    assert seen[-1] == pytest.approx(float(keras_schedule(3)), rel=1e-5)


def test_learning_rate_reaches_csv_logger_per_epoch(tmp_path):
    path = tmp_path / "log.csv"
    model = _model(keras.optimizers.SGD(0.1))
    model.fit(
        X,
        Y,
        batch_size=8,
        epochs=3,
        verbose=0,
        callbacks=[StepDecay(factor=0.5, every=1), keras.callbacks.CSVLogger(str(path))],
    )
    rows = list(csv.DictReader(path.open()))
    assert [float(r["learning_rate"]) for r in rows] == pytest.approx([0.1, 0.05, 0.025])


def test_batch_logs_carry_the_step_rate():
    got = []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda b, logs: got.append(logs["learning_rate"])
    )
    model = _model(keras.optimizers.SGD(0.1))
    callback = PolynomialDecay(end_lr=0.0)
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0, callbacks=[callback, record])
    assert got == pytest.approx(callback.learning_rates) and len(got) == 4


def test_generic_callback_with_any_keras_schedule():
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay([2, 5], [0.1, 0.01, 0.001])
    _, _, seen = _fit(LRScheduleCallback(schedule), epochs=2)
    assert seen == pytest.approx([0.1] * 3 + [0.01] * 3 + [0.001] * 2)


def test_schedules_serialize_round_trip():
    for schedule in (
        schedules.OneCycleSchedule(0.1, 50, pct_start=0.3),
        schedules.StepDecaySchedule(0.1, 0.5, boundaries=[3, 7]),
        schedules.WarmupSchedule(
            schedules.StepDecaySchedule(0.1, 0.5, step_size=3), warmup_steps=5
        ),
        schedules.WarmupSchedule(0.3, warmup_steps=5),
    ):
        config = json.loads(json.dumps(keras.optimizers.schedules.serialize(schedule)))
        clone = keras.optimizers.schedules.deserialize(config)
        assert type(clone) is type(schedule)
        assert [float(clone(s)) for s in range(12)] == pytest.approx(
            [float(schedule(s)) for s in range(12)]
        )
    optimizer = keras.optimizers.Adam(schedules.OneCycleSchedule(0.1, 50))
    clone = keras.optimizers.deserialize(
        json.loads(json.dumps(keras.optimizers.serialize(optimizer)))
    )
    assert isinstance(clone._learning_rate, schedules.OneCycleSchedule)


def test_schedule_in_a_model_saves_and_loads(tmp_path):
    model = _model(
        keras.optimizers.SGD(
            schedules.WarmupSchedule(schedules.OneCycleSchedule(0.1, 8), warmup_steps=2)
        )
    )
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert float(loaded.optimizer.learning_rate) == pytest.approx(
        float(model.optimizer.learning_rate)
    )


def test_old_saved_schedule_names_still_load():
    # Files saved before the schedules were renamed carry "kerasft>OneCycle" and friends.
    config = keras.optimizers.schedules.serialize(schedules.StepDecaySchedule(0.1, step_size=2))
    assert config["registered_name"] == "kerasft>StepDecay"
    config["class_name"] = "StepDecay"
    assert isinstance(keras.optimizers.schedules.deserialize(config), schedules.StepDecaySchedule)


def test_schedules_and_callbacks_share_no_name():
    import kerasft.callbacks as callbacks

    assert not set(schedules.__all__) & set(callbacks.__all__)


# Every schedule callback, with each argument away from its default where it has one to vary.
CALLBACK_CONFIGS = [
    (LRScheduleCallback, {"schedule": keras.optimizers.schedules.CosineDecay(0.2, 4)}),
    (LRScheduleCallback, {"steps_per_epoch": 3, "verbose": 1}),
    (OneCycle, {}),
    (OneCycle, {"max_lr": 0.3, "total_steps": 40, "pct_start": 0.4, "cycle_momentum": False}),
    (CosineRestarts, {"initial_lr": 0.2, "first_cycle_epochs": 2, "t_mul": 1.5, "alpha": 0.1}),
    (Warmup, {"after": CosineRestarts(first_cycle_epochs=2)}),
    (Warmup, {"after": OneCycle(max_lr=0.2), "warmup_steps": 3, "target_lr": 0.4}),
    (Warmup, {"after": keras.optimizers.schedules.ExponentialDecay(0.1, 4, 0.5)}),
    (Warmup, {"start_lr": 0.01, "target_lr": 0.3, "steps_per_epoch": 5}),
    (StepDecay, {"every": 2}),
    (StepDecay, {"initial_lr": 0.3, "factor": 0.5, "at": [1, 3]}),
    (ExponentialDecay, {}),
    (ExponentialDecay, {"initial_lr": 0.3, "decay_rate": 0.5, "staircase": True}),
    (PolynomialDecay, {"initial_lr": 0.3, "end_lr": 0.01, "decay_epochs": 3, "cycle": True}),
    (PhaseCosine, {}),
    (PhaseCosine, {"phase": None, "floor": 0.1, "verbose": 1}),
    (PhaseCosine, {"warmup": 0.25}),
]


@pytest.mark.parametrize(
    ("cls", "kwargs"),
    CALLBACK_CONFIGS,
    ids=[f"{c.__name__}-{i}" for i, (c, _) in enumerate(CALLBACK_CONFIGS)],
)
def test_callback_configs_round_trip_through_json(cls, kwargs):
    callback = cls(**kwargs)
    config = json.loads(json.dumps(callback.get_config()))
    assert set(config) == set(inspect.signature(cls).parameters)
    for name, value in kwargs.items():
        if isinstance(value, (int, float, list)):
            assert config[name] == value, name
    clone = cls.from_config(config)
    assert type(clone) is cls
    assert clone.get_config() == config
    assert clone.initial_lr() == callback.initial_lr()


def test_every_schedule_callback_has_a_config_test():
    import kerasft.callbacks as callbacks

    exported = {
        getattr(callbacks, name)
        for name in callbacks.__all__
        if isinstance(getattr(callbacks, name), type)
        and issubclass(getattr(callbacks, name), LRScheduleCallback)
    }
    assert exported <= {cls for cls, _ in CALLBACK_CONFIGS}
    assert len(exported) == 7


def test_a_round_tripped_callback_schedules_the_same_rates():
    warmup = Warmup(StepDecay(initial_lr=0.2, factor=0.5, every=1), warmup_steps=2, start_lr=0.05)
    clone = Warmup.from_config(json.loads(json.dumps(warmup.get_config())))
    _, _, seen = _fit(warmup, epochs=3)
    _, _, seen_again = _fit(clone, epochs=3)
    assert seen_again == pytest.approx(seen)
    assert seen[:3] == pytest.approx([0.05, 0.125, 0.2])


def test_bad_arguments_fail_early_and_clearly():
    with pytest.raises(KerasftError, match="exactly one of every"):
        StepDecay()
    with pytest.raises(KerasftError, match="pct_start"):
        OneCycle(pct_start=1.5)
    with pytest.raises(KerasftError, match="positive"):
        ExponentialDecay(decay_rate=-1)
    with pytest.raises(KerasftError, match="LearningRateSchedule"):
        _fit(OneCycle(), keras.optimizers.SGD(schedules.OneCycleSchedule(0.1, 10)))


def test_unknown_length_dataset_needs_steps_per_epoch():
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices((X, Y)).batch(8).filter(lambda x, y: True)
    model = _model(keras.optimizers.SGD(0.1))
    with pytest.raises(KerasftError, match="steps per epoch"):
        model.fit(data, epochs=1, verbose=0, callbacks=[StepDecay(every=1)])
    callback = StepDecay(factor=0.5, every=1, steps_per_epoch=4)
    model.fit(data, epochs=2, verbose=0, callbacks=[callback])
    assert callback.learning_rates == pytest.approx([0.1] * 4 + [0.05] * 4)


def _half_cosine(base, n, floor=0.0):
    return [base * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * k / n))) for k in range(n)]


def test_phase_cosine_on_a_plain_model_decays_each_fit_and_restores():
    callback = PhaseCosine(phase=None, floor=0.1)
    model, history, seen = _fit(callback, epochs=2)  # 4 steps an epoch
    assert seen == pytest.approx(_half_cosine(0.1, 8, floor=0.1), rel=1e-5)
    assert history.history["learning_rate"] == pytest.approx([seen[3], seen[7]], rel=1e-6)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.1)  # the compiled rate
    # Only the given phase is scheduled: a model outside kft.fine_tune has none.
    model, history, seen = _fit(PhaseCosine(phase=2), epochs=2)
    assert seen == pytest.approx([0.1] * 8)
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.1])


@pytest.mark.parametrize("cache", ["off", "memory"])
def test_phase_cosine_decays_only_phase_two_of_fine_tune(cache, tmp_path):
    from test_cache_equivalence import learnable_data, make_model

    import kerasft as kft

    x, y = learnable_data(64)
    model = make_model()
    seen = []
    spy = keras.callbacks.LambdaCallback(
        on_train_batch_begin=lambda b, logs: seen.append(
            (current_phase(model).number, float(model.optimizer.learning_rate))
        )
    )
    kft.fine_tune(
        model,
        (x, y),
        epochs=(1, 2),
        batch_size=16,
        lr=1e-2,
        ft_lr=1e-3,
        verbose=0,
        cache=cache,
        run_dir=tmp_path,
        callbacks=[PhaseCosine(phase=2), spy],
    )
    head = [lr for phase, lr in seen if phase == 1]
    tail = [lr for phase, lr in seen if phase == 2]
    assert head == pytest.approx([1e-2] * 4)
    # The spy runs after PhaseCosine: it sees each batch's rate, 4 steps x 2 epochs.
    assert tail == pytest.approx(_half_cosine(1e-3, 8), rel=1e-5, abs=1e-9)
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)  # restored
    # history.csv appends both phases under one header: the rate is logged in each.
    rows = list(csv.DictReader((tmp_path / "history.csv").open()))
    logged = [float(r["learning_rate"]) for r in rows]
    assert logged == pytest.approx([1e-2, tail[3], tail[7]], rel=1e-5)


def test_phase_cosine_warmup_is_keras_cosine_decay_warmup():
    # 8 steps, warm-up over a quarter of them: Keras's own linear warm-up from 0, then its
    # cosine over the other 6 steps.
    _, _, seen = _fit(PhaseCosine(phase=None, warmup=0.25, floor=0.1), epochs=2)
    keras_schedule = keras.optimizers.schedules.CosineDecay(
        0.0, 6, alpha=0.1, warmup_target=0.1, warmup_steps=2
    )
    expected = [float(keras_schedule(step)) for step in range(8)]
    assert seen == pytest.approx(expected, rel=1e-5, abs=1e-9)
    assert seen[0] == 0.0 and seen[2] == pytest.approx(0.1)  # the rate peaks after warm-up
    with pytest.raises(KerasftError, match="warmup=1"):
        PhaseCosine(warmup=1)


def test_phase_cosine_bad_arguments_and_unknown_length():
    import tensorflow as tf

    with pytest.raises(KerasftError, match="phase=3"):
        PhaseCosine(phase=3)
    with pytest.raises(KerasftError, match="floor=1.5"):
        PhaseCosine(floor=1.5)
    data = tf.data.Dataset.from_tensor_slices((X, Y)).batch(8).filter(lambda x, y: True)
    model = _model(keras.optimizers.SGD(0.1))
    with pytest.raises(KerasftError, match="steps_per_epoch"):
        model.fit(data, epochs=1, verbose=0, callbacks=[PhaseCosine(phase=None)])
    callback = PhaseCosine(phase=None, steps_per_epoch=4)
    model.fit(data, epochs=1, verbose=0, callbacks=[callback])
    assert callback.learning_rates == pytest.approx(_half_cosine(0.1, 4), rel=1e-5)
