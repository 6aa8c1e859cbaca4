"""Search-space validation, conditional parameters and trial configs (no training)."""

import keras_tuner as kt
import pytest

from kerasft import config
from kerasft.errors import KerasftError
from kerasft.tuning.oracles import sweep_configurations
from kerasft.tuning.space import SearchSpace, to_config


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"batch_size": []}, "empty list of choices"),
        ({"lr": {"min": 1e-2, "max": 1e-4}}, "min=0.01 > max=0.0001"),
        ({"backbone": ["mobilenet", "mobilenett"]}, "unknown backbone 'mobilenett'"),
        ({"learning_rate": [1e-3]}, "Unknown search-space parameter 'learning_rate'"),
        ({"unfreeze_blocks": [1, "block_3"]}, "mix types"),
        ({"optimizer": ["adam", "rmsprop"]}, "unknown value 'rmsprop'"),
        ({"lr": {"min": 0.0, "max": 1.0, "sampling": "log"}}, "log sampling needs min > 0"),
    ],
)
def test_invalid_spaces_raise_clear_errors(overrides, message):
    with pytest.raises(KerasftError, match=message):
        SearchSpace(overrides)


def test_fix_rerange_drop():
    space = SearchSpace({"batch_size": 32, "lr": {"min": 1e-3, "max": 1e-2}, "l2": None})
    assert space["batch_size"].kind == "fixed" and space["batch_size"].default == 32
    assert (space["lr"].min, space["lr"].max, space["lr"].sampling) == (1e-3, 1e-2, "log")
    assert "l2" not in {p.name for p in space.tuned()}


def test_conditional_momentum_only_for_sgd():
    space = SearchSpace({"optimizer": ["adam", "sgd"]}, only=["optimizer", "momentum"])
    hp = kt.HyperParameters()
    values = space.define(hp)
    assert values["optimizer"] == "adam" and "momentum" not in values
    trial_hp = hp.copy()
    trial_hp.values = {"optimizer": "sgd", "momentum": 0.85}  # what an oracle hands a trial
    assert space.define(trial_hp)["momentum"] == pytest.approx(0.85)
    assert hp.get_config()["space"][1]["config"]["conditions"]  # declared conditionally


def test_trial_config_is_a_fit_config():
    values = {
        "optimizer": "sgd",
        "momentum": 0.8,
        "weight_decay": 1e-4,
        "hidden_units": 128,
        "head_epochs": 1,
        "ft_epochs": 3,
        "augmentation": "none",
        "lr_schedule": "cosine",
    }
    cfg = to_config(values, {"weights": None})
    assert set(cfg) <= set(config.DEFAULTS)
    config.validate(cfg)
    assert cfg["optimizer"] == {
        "class_name": "sgd",
        "config": {"momentum": 0.8, "weight_decay": 1e-4},
    }
    assert cfg["hidden_units"] == [128] and cfg["epochs"] == [1, 3] and cfg["augmentation"] is None
    assert cfg["callbacks"] == [{"name": "phase_cosine", "phase": None}]
    assert cfg["ft_schedule"] is None  # the tuned schedule replaces the phase-2 cosine


def test_base_schedules_are_kept_unless_the_trial_tunes_lr_schedule():
    base = config.resolve({"callbacks": [{"name": "OneCycle", "max_lr": 1e-3}, "terminate_on_nan"]})
    # lr_schedule not tuned: the base config's schedules (callbacks and ft_schedule) stay.
    space = SearchSpace({"dropout": [0.1, 0.3]}, only=["dropout"])
    values = space.define(kt.HyperParameters(), base)
    assert "lr_schedule" not in values
    kept = to_config(values, base)
    assert kept["callbacks"] == base["callbacks"] and kept["ft_schedule"] == "cosine"
    # Tuned (or fixed) by the space: it replaces them, whatever their spelling.
    for schedule, added in [
        ("step_decay", [{"name": "step_decay", "factor": 0.5, "every": 1}]),
        ("constant", []),
    ]:
        space = SearchSpace({"lr_schedule": schedule}, only=["lr_schedule"])
        cfg = to_config(space.define(kt.HyperParameters(), base), base)
        assert cfg["callbacks"] == ["terminate_on_nan", *added]
        assert cfg["ft_schedule"] is None
        config.validate(cfg)


def test_sweep_moves_one_factor_at_a_time():
    space = SearchSpace(
        {"dropout": [0.1, 0.3, 0.5], "batch_size": [16, 32]}, only=["dropout", "batch_size"]
    )
    configs = sweep_configurations(space)
    base = configs[0]
    assert base["sweep/parameter"] == "base"
    assert len(configs) == 1 + 2 + 1
    for c in configs[1:]:
        changed = [k for k in ("dropout", "batch_size") if c[k] != base[k]]
        assert changed == [c["sweep/parameter"]]
