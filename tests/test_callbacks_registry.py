"""kft.callbacks: one import for every callback, and callbacks by name (as configs give them)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import kerasft.callbacks as kcb
from kerasft.callbacks import registry
from kerasft.errors import ConfigError, KerasftError


def test_keras_callbacks_are_re_exported():
    for name in (
        "ReduceLROnPlateau",
        "BackupAndRestore",
        "TerminateOnNaN",
        "SwapEMAWeights",
        "LearningRateScheduler",
        "ModelCheckpoint",
        "CSVLogger",
        "TensorBoard",
    ):
        assert getattr(kcb, name) is getattr(keras.callbacks, name)
    assert "OneCycle" in dir(kcb) and "TensorBoardExtras" in dir(kcb)


def test_own_callbacks_load_lazily():
    from kerasft.callbacks.progress import ProgressBar
    from kerasft.callbacks.tensorboard_extras import TensorBoardExtras

    assert kcb.TensorBoardExtras is TensorBoardExtras
    assert kcb.ProgressBar is ProgressBar
    with pytest.raises(AttributeError, match="no attribute 'NoSuchThing'"):
        kcb.NoSuchThing  # noqa: B018


def test_a_broken_module_breaks_only_its_own_name(monkeypatch):
    monkeypatch.setitem(kcb._LAZY, "Ghost", "kerasft.callbacks.no_such_module:Ghost")
    monkeypatch.setitem(registry.BUILTINS, "ghost", "kerasft.callbacks.no_such_module:Ghost")
    with pytest.raises(AttributeError, match="Ghost is unavailable.*no_such_module"):
        kcb.Ghost  # noqa: B018
    assert not hasattr(kcb, "Ghost")
    with pytest.raises(KerasftError, match="'ghost'.*could not be imported.*ModuleNotFoundError"):
        kcb.get("ghost")
    assert isinstance(kcb.get("terminate_on_nan"), keras.callbacks.TerminateOnNaN)


@pytest.mark.parametrize("name", sorted(registry.KERASFT_CALLBACKS))
def test_every_kerasft_name_is_a_callback_class(name):
    cls = kcb.get_class(name)
    assert issubclass(cls, keras.callbacks.Callback)
    assert cls.__name__ == registry.KERASFT_CALLBACKS[name].rpartition(":")[2]


def test_get_one_cycle_by_name():
    callback = kcb.get("one_cycle", max_lr=1e-3)
    assert type(callback).__name__ == "OneCycle"
    assert kcb.get({"name": "one_cycle", "max_lr": 1e-3}).__class__ is type(callback)


@pytest.mark.parametrize(
    "name, cls, kwargs",
    [
        ("reduce_lr_on_plateau", keras.callbacks.ReduceLROnPlateau, {"factor": 0.5}),
        ("backup_and_restore", keras.callbacks.BackupAndRestore, {"backup_dir": "/tmp/x"}),
        ("terminate_on_nan", keras.callbacks.TerminateOnNaN, {}),
        ("swap_ema_weights", keras.callbacks.SwapEMAWeights, {}),
        ("csv_logger", keras.callbacks.CSVLogger, {"filename": "log.csv"}),
        ("model_checkpoint", keras.callbacks.ModelCheckpoint, {"filepath": "m.keras"}),
        ("tensorboard", keras.callbacks.TensorBoard, {"log_dir": "/tmp/tb"}),
    ],
)
def test_keras_callbacks_by_snake_case_name(name, cls, kwargs):
    callback = kcb.get(name, **kwargs)
    assert type(callback) is cls
    for key, value in kwargs.items():
        assert getattr(callback, key, value) == value


def test_other_spellings_and_forms():
    assert kcb.get("ReduceLROnPlateau", patience=3).patience == 3
    assert kcb.get("reduce-lr-on-plateau", patience=4).patience == 4
    assert kcb.get({"name": "reduce_lr_on_plateau", "patience": 5}).patience == 5
    # Keras's own serialized form, and kwargs overriding the dict.
    keras_form = {"class_name": "ReduceLROnPlateau", "config": {"patience": 6, "factor": 0.2}}
    callback = kcb.get(keras_form, factor=0.3)
    assert (callback.patience, callback.factor) == (6, 0.3)
    assert kcb.get(keras.callbacks.TerminateOnNaN).__class__ is keras.callbacks.TerminateOnNaN
    ready = keras.callbacks.TerminateOnNaN()
    assert kcb.get(ready) is ready
    # LambdaCallback's **kwargs are further hooks: accepted, while typos are not.
    seen = []
    hook = kcb.get("lambda_callback", on_predict_begin=lambda logs: seen.append(1))
    hook.on_predict_begin({})
    assert seen == [1]
    with pytest.raises(KerasftError, match="'on_epoch_ned'.*Did you mean 'on_epoch_end'"):
        kcb.get("lambda_callback", on_epoch_ned=print)


def test_unknown_name_lists_close_matches():
    with pytest.raises(KerasftError) as err:
        kcb.get("reduce_lr_on_plato")
    message = str(err.value)
    assert "Unknown callback 'reduce_lr_on_plato'" in message
    assert "Did you mean 'reduce_lr_on_plateau'" in message
    assert "one_cycle" in message  # all known names are listed


def test_bad_arguments_name_the_callback_and_its_arguments():
    with pytest.raises(KerasftError) as err:
        kcb.get("reduce_lr_on_plateau", factr=0.5)
    message = str(err.value)
    assert "'reduce_lr_on_plateau' (ReduceLROnPlateau)" in message
    assert "unexpected argument(s) 'factr'" in message and "Did you mean 'factor'" in message
    assert "Accepted arguments: monitor, factor, patience" in message
    with pytest.raises(KerasftError, match="missing required argument.*'filename'"):
        kcb.get("csv_logger")
    # Keras's own ValueError comes back as a KerasftError naming the callback.
    with pytest.raises(KerasftError, match="'reduce_lr_on_plateau'.*factor >= 1.0"):
        kcb.get("reduce_lr_on_plateau", factor=1.5)
    with pytest.raises(KerasftError, match="either the instance or a name"):
        kcb.get(keras.callbacks.TerminateOnNaN(), patience=1)
    with pytest.raises(KerasftError, match="needs a 'name' key"):
        kcb.get({"max_lr": 1e-3})
    with pytest.raises(KerasftError, match="Cannot make a callback from 3"):
        kcb.get(3)


def test_names_lists_everything():
    names = kcb.names()
    assert names == sorted(names)
    assert set(registry.KERASFT_CALLBACKS) | set(registry.KERAS_CALLBACKS) <= set(names)
    assert {"one_cycle", "sgdr", "early_stopping", "nan_guard", "csv_logger"} <= set(names)
    origins = {info.name: info.origin for info in kcb.entries()}
    assert origins["one_cycle"] == "kerasft" and origins["csv_logger"] == "keras"
    assert origins["early_stopping"] == "kerasft"  # kerasft's subclass owns the name


def test_from_config_builds_working_callbacks(tmp_path):
    log = tmp_path / "log.csv"
    callbacks = kcb.from_config(
        [
            {"name": "csv_logger", "filename": str(log)},
            "terminate_on_nan",
            {"name": "reduce_lr_on_plateau", "monitor": "loss", "factor": 0.5, "patience": 0},
        ]
    )
    assert [type(c).__name__ for c in callbacks] == [
        "CSVLogger",
        "TerminateOnNaN",
        "ReduceLROnPlateau",
    ]
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, kernel_initializer="zeros")])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    # A perfect fit from the start: the loss never improves, so the LR halves after epochs 1 and 2.
    model.fit(np.zeros((4, 2)), np.zeros((4, 1)), epochs=3, verbose=0, callbacks=callbacks)
    assert len(log.read_text().strip().splitlines()) == 1 + 3
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(0.025)
    assert kcb.from_config(None) == []
    mapping = kcb.from_config({"terminate_on_nan": None, "reduce_lr_on_plateau": {"patience": 7}})
    assert mapping[1].patience == 7


def test_from_config_errors_point_at_the_entry():
    with pytest.raises(
        ConfigError, match=r"callbacks\[1\]: Unknown callback 'one_cycel'.*'one_cycle'"
    ):
        kcb.from_config(["terminate_on_nan", {"name": "one_cycel"}])
    with pytest.raises(ConfigError, match="must be a list"):
        kcb.from_config("one_cycle")
    with pytest.raises(
        ConfigError, match="callbacks.reduce_lr_on_plateau: arguments must be a mapping"
    ):
        kcb.from_config({"reduce_lr_on_plateau": 3})


def _callback_classes_defined_in_kerasft() -> set[str]:
    """`module:Class` of the public Callback classes of kerasft/callbacks/*.py, bases left out."""
    import importlib
    import inspect
    import pkgutil

    classes = []
    for info in pkgutil.iter_modules(kcb.__path__):
        module = importlib.import_module(f"kerasft.callbacks.{info.name}")
        classes += [
            value
            for attr, value in vars(module).items()
            if inspect.isclass(value)
            and issubclass(value, keras.callbacks.Callback)
            and value.__module__ == module.__name__
            and not attr.startswith("_")
        ]
    # A class other kerasft callbacks derive from (the LR schedules' base) is no callback itself.
    bases = {base for cls in classes for base in cls.__mro__[1:]}
    return {f"{c.__module__}:{c.__name__}" for c in classes if c not in bases}


def test_one_table_of_callback_names():
    # Every callback class of kerasft/callbacks has its name in registry.KERASFT_CALLBACKS ...
    assert _callback_classes_defined_in_kerasft() <= set(registry.KERASFT_CALLBACKS.values())
    # ... and kft.callbacks serves exactly the registry's classes (plus find_lr), by class name.
    for name, target in registry.BUILTINS.items():
        attr = target.rpartition(":")[2]
        assert attr in kcb.__all__
        assert getattr(kcb, attr) is kcb.get_class(name)
    served = {attr for attr in kcb.__all__ if attr[0].isupper()} - {"Callback"}
    tables = {t.rpartition(":")[2] for t in registry.BUILTINS.values()}
    assert served == tables


def test_readme_lists_every_callback_name():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme[readme.index("## Callbacks and plugins") :]
    section = section[: section.index("\n## ", 1)]
    missing = [name for name in registry.BUILTINS if f"`{name}`" not in section]
    assert not missing, f"README's callbacks section lacks {missing}"
