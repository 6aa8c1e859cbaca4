"""Callback plugins: real throwaway distributions (a *.dist-info with entry_points.txt and a module)
put on sys.path, found through importlib.metadata exactly as an installed package would be."""

from __future__ import annotations

import sys
import textwrap
import warnings

import keras
import numpy as np
import pytest

import kerasft.callbacks as kcb
from kerasft.callbacks import plugins
from kerasft.cli.main import main
from kerasft.errors import ConfigError, KerasftError

# The squatting distribution warns whenever names are listed; only one test is about that.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Callback plugin 'terminate_on_nan' from kftdemo-squatter:UserWarning"
)

GOOD = '''
import keras

class EpochCounter(keras.callbacks.Callback):
    """Counts epochs, starting from `start`."""

    def __init__(self, start=0, label="count"):
        super().__init__()
        self.count = start
        self.label = label

    def on_epoch_end(self, epoch, logs=None):
        self.count += 1
        logs[self.label] = float(self.count)


def not_a_callback():
    return 1
'''

BROKEN = "import kftdemo_missing_dependency  # not installed anywhere\n"


def write_distribution(site, name, version, entry_points, modules):
    dist_info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    )
    lines = "\n".join(f"{k} = {v}" for k, v in entry_points.items())
    (dist_info / "entry_points.txt").write_text(f"[kerasft.callbacks]\n{lines}\n")
    (dist_info / "RECORD").write_text("")
    for module, source in modules.items():
        (site / f"{module}.py").write_text(textwrap.dedent(source))


@pytest.fixture
def site(tmp_path, monkeypatch):
    """Three distributions: a working plugin, a broken one and one claiming a built-in name."""
    write_distribution(
        tmp_path,
        "kftdemo-plugin",
        "1.2.3",
        {
            "epoch_counter": "kftdemo_plugin:EpochCounter",
            "not_callback": "kftdemo_plugin:not_a_callback",
        },
        {"kftdemo_plugin": GOOD},
    )
    write_distribution(
        tmp_path,
        "kftdemo-broken",
        "0.1",
        {"broken_one": "kftdemo_broken:Nope"},
        {"kftdemo_broken": BROKEN},
    )
    write_distribution(
        tmp_path, "kftdemo-squatter", "9.9", {"terminate_on_nan": "kftdemo_plugin:EpochCounter"}, {}
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(plugins, "_reported", set())  # each test sees its warnings afresh
    yield tmp_path
    for module in ("kftdemo_plugin", "kftdemo_broken"):
        sys.modules.pop(module, None)


def test_plugins_are_discovered_with_their_distribution(site):
    found = plugins.discover(reserved={"terminate_on_nan"})
    assert found["epoch_counter"].origin == "kftdemo-plugin 1.2.3"
    assert found["epoch_counter"].target == "kftdemo_plugin:EpochCounter"
    assert found["broken_one"].origin == "kftdemo-broken 0.1"
    assert "kftdemo_broken" not in sys.modules  # discovery imports nothing
    assert {"epoch_counter", "broken_one", "not_callback"} <= set(kcb.names())
    origins = {info.name: info.origin for info in kcb.entries()}
    assert origins["epoch_counter"] == "kftdemo-plugin 1.2.3"


def test_plugin_callback_by_name_and_config_runs_in_fit(site):
    counter = kcb.get("epoch_counter", start=10)
    assert type(counter).__module__ == "kftdemo_plugin"
    [from_yaml] = kcb.from_config([{"name": "epoch_counter", "label": "seen"}])
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    history = model.fit(
        np.ones((4, 2)), np.ones((4, 1)), epochs=3, verbose=0, callbacks=[counter, from_yaml]
    )
    assert counter.count == 13 and from_yaml.count == 3
    assert history.history["seen"] == [1.0, 2.0, 3.0]
    with pytest.raises(KerasftError, match=r"'epoch_counter' \(EpochCounter\).*'strat'.*'start'"):
        kcb.get("epoch_counter", strat=1)


def test_a_broken_plugin_is_reported_once_and_breaks_nothing_else(site):
    with pytest.warns(plugins.PluginWarning) as caught:
        loaded, failed = plugins.load_all()
        loaded_again, failed_again = plugins.load_all()
    messages = [str(w.message) for w in caught]
    broken = [m for m in messages if "broken_one" in m]
    assert len(broken) == 1
    assert "kftdemo-broken 0.1" in broken[0] and "ModuleNotFoundError" in broken[0]
    assert "kftdemo_missing_dependency" in broken[0]
    assert set(failed) == set(failed_again) == {"broken_one", "not_callback"}
    assert loaded["epoch_counter"].__name__ == "EpochCounter" and loaded == loaded_again
    # Asking for it by name is an error naming the plugin; other names keep working.
    with pytest.raises(KerasftError, match="'broken_one'.*kftdemo-broken 0.1.*failed to import"):
        kcb.get("broken_one")
    with pytest.raises(ConfigError, match=r"callbacks\[1\].*broken_one"):
        kcb.from_config(["epoch_counter", "broken_one"])
    with pytest.raises(KerasftError, match="not a keras.callbacks.Callback subclass"):
        kcb.get("not_callback")
    assert isinstance(kcb.get("csv_logger", filename="x.csv"), keras.callbacks.CSVLogger)


def test_a_plugin_cannot_take_a_builtin_name(site):
    with pytest.warns(
        plugins.PluginWarning, match="'terminate_on_nan' from kftdemo-squatter 9.9 is skipped"
    ):
        names = kcb.names()
    assert names.count("terminate_on_nan") == 1
    assert type(kcb.get("terminate_on_nan")) is keras.callbacks.TerminateOnNaN


def test_cli_lists_builtins_and_plugins_with_origin(site, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the table reports problems; no warnings on top
        assert main(["plugins"]) == 0
    out, err = capsys.readouterr()
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert rows["epoch_counter"][1:4] == ["kftdemo-plugin", "1.2.3", "ok"]
    assert rows["csv_logger"][1:3] == ["keras", "ok"]
    assert rows["tensorboard_extras"][1:3] == ["kerasft", "ok"]
    assert rows["broken_one"][3] == "error"
    assert "broken_one:" in err and "ModuleNotFoundError" in err
    assert main(["plugins", "--plugins-only"]) == 0
    out, _ = capsys.readouterr()
    listed = {line.split()[0] for line in out.splitlines()[1:]}
    assert {"epoch_counter", "broken_one"} <= listed and "csv_logger" not in listed
