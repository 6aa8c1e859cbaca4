"""A real tiny sweep: a failing trial is recorded, results/plots/HParams/best exports written."""

import csv
import warnings

import keras
import numpy as np
import pytest
import yaml

from kerasft import config
from kerasft.cli.tune import split_config
from kerasft.errors import KerasftError
from kerasft.training.phase import current_phase
from kerasft.tuning import SearchSpace, tune
from kerasft.tuning.backbones import SMALL_CNN

TINY = {
    "backbone": SMALL_CNN,
    "image_size": 32,
    "head_epochs": 1,
    "ft_epochs": 0,
    "batch_size": 16,
    "augmentation": "none",
}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, (32, 32, 32, 3)).astype("uint8")
    return x, np.arange(32) % 2


def test_sweep_records_failure_and_exports(data, tmp_path):
    # "no_such_block" makes that trial fail inside fine_tune; the search must go on.
    space = SearchSpace(
        {**TINY, "unfreeze_blocks": ["all", "no_such_block"]}, only=list(TINY) + ["unfreeze_blocks"]
    )
    space.set("ft_epochs", 1)
    result = tune(
        data,
        data,
        space=space,
        base={"weights": None},
        tuner="sweep",
        directory=tmp_path,
        overwrite=True,
        export=True,
    )
    statuses = sorted(r["status"] for r in result.rows)
    assert statuses == ["COMPLETED", "FAILED"]
    failed = next(r for r in result.rows if r["status"] == "FAILED")
    assert "no_such_block" in failed["reason"]
    out = result.directory
    with open(out / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["status"] == "COMPLETED" and "unfreeze_blocks" in rows[0]
    for name in (
        "results.md",
        "progress.png",
        "sweep.md",
        "sweep_unfreeze_blocks.png",
        "best_model.keras",
    ):
        assert (out / name).stat().st_size > 0, name
    assert list((out / "hparams").glob("trial_*/events.*"))
    best = yaml.safe_load((out / "best_config.yaml").read_text())
    assert set(best) <= set(config.DEFAULTS) and best["unfreeze_blocks"] == "all"
    config.validate(best)
    # The exported model reloads cleanly, its optimizer state included.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reloaded = keras.models.load_model(out / "best_model.keras")
    assert not [w for w in caught if "Skipping variable loading" in str(w.message)]
    assert reloaded.optimizer.built


def test_bad_space_fails_before_any_trial(tmp_path, data):
    with pytest.raises(KerasftError, match="empty list"):
        tune(data, data, space={"dropout": []}, directory=tmp_path)
    with pytest.raises(KerasftError, match="tuner"):
        tune(data, data, tuner="evolution", directory=tmp_path)
    assert not list(tmp_path.iterdir())


def test_tune_yaml_splits_search_and_fit_keys():
    search, fit = split_config({"tuner": "sweep", "space": {"lr": [1e-3]}, "dropout": 0.1})
    assert search == {"tuner": "sweep", "space": {"lr": [1e-3]}} and fit == {"dropout": 0.1}
    with pytest.raises(KerasftError, match="max_trialz"):
        split_config({"max_trialz": 3})


def test_a_trial_runs_the_fit_recipe_of_its_config(data):
    """ft_schedule, cache and callbacks of the base config reach the trial as `kerasft fit`
    gives them to fine_tune, so best_config.yaml reproduces the trial."""
    import keras
    import keras_tuner as kt

    from kerasft.jobs.recipe import fine_tune_kwargs
    from kerasft.tuning import FineTuneHyperModel

    base = config.resolve({"weights": None, "ft_schedule": "cosine", "cache": "off", "ft_lr": 1e-3})
    base["callbacks"] = ["terminate_on_nan"]
    space = SearchSpace({**TINY, "ft_epochs": 2, "unfreeze_blocks": "all"}, only=list(TINY))
    hm = FineTuneHyperModel(space, base, num_classes=2, input_shape=(32, 32, 3))
    hp = kt.HyperParameters()
    cfg = hm.config(hp)
    assert cfg["ft_schedule"] == "cosine" and cfg["cache"] == "off"
    recipe = fine_tune_kwargs(cfg)
    assert recipe["cache"] == "off" and recipe["epochs"] == (1, 2)
    assert [type(c).__name__ for c in recipe["callbacks"]][-1] == "TerminateOnNaN"

    seen = []
    spy = keras.callbacks.LambdaCallback(
        on_train_batch_begin=lambda b, logs: seen.append(
            (current_phase(model).number, float(model.optimizer.learning_rate))
        )
    )
    model = hm.build(hp)
    history = hm.fit(hp, model, data, data, callbacks=[spy])
    assert len(history.epoch) == 3
    tail = [lr for phase, lr in seen if phase == 2]
    # The cosine of phase 2: from ft_lr down towards 0, never up.
    assert tail[0] == pytest.approx(1e-3) and tail[-1] < 0.2e-3
    assert all(a >= b for a, b in zip(tail, tail[1:]))
    with pytest.raises(KerasftError, match="ft_schedule='linear'"):
        FineTuneHyperModel(space, {**base, "ft_schedule": "linear"}).fit(hp, model, data)


@pytest.mark.parametrize("tuner_id", ["chief", "worker1"])
def test_promote_is_refused_in_chief_worker_mode_before_anything_starts(
    tuner_id, data, tmp_path, monkeypatch
):
    # What `kerasft tune --chief/--worker` sets; no oracle server is listening on this port.
    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
    monkeypatch.setenv("KERASTUNER_ORACLE_PORT", "1")
    monkeypatch.setenv("KERASTUNER_TUNER_ID", tuner_id)
    role = "chief" if tuner_id == "chief" else "worker"
    # direction="sideways" is a tripwire: were promote let through, that error (raised later,
    # still before any server) would show instead of a chief blocking on its oracle server.
    with pytest.raises(KerasftError, match=f"promote=2 .*chief/worker mode.*the {role}"):
        tune(data, data, promote=2, direction="sideways", directory=tmp_path)
    assert not list(tmp_path.iterdir())
