"""The README's Python, YAML and TOML snippets run as written, at reduced size where needed.

Each snippet is taken from README.md at test time; the reductions are exact text
substitutions that must apply (a README edit that drops one fails here, so it is noticed),
and every snippet in the README must have a test below.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import tomllib
import yaml

ROOT = Path(__file__).resolve().parents[1]
SNIPPET = re.compile(r"```(python|yaml|toml)\n(.*?)```", re.S)
SNIPPETS = [(m.group(1), m.group(2)) for m in SNIPPET.finditer((ROOT / "README.md").read_text())]

# First line of each snippet -> the test that runs it.
COVERED = {
    "import kerasft as kft\n\n(x_train,": "test_quick_start",
    "callbacks:\n  - {name: early_stopping": "test_callbacks_yaml",
    "import keras\nfrom sklearn.datasets import load_digits": "test_callbacks_in_any_keras_model",
    '[project.entry-points."kerasft.callbacks"]': "test_plugin_entry_point",
    "import kerasft as kft\n\ndata = kft.data.from_folder": "test_own_folder",
    "import kerasft as kft\nfrom kerasft.data.keras_datasets": "test_search_in_python",
    "# kerasft fit keys: the base configuration": "test_search_yaml",
    "directory: /shared/tune\nstrategy: mirrored": "test_search_yaml",
    # The "Your own images" section's search, run there with its commands.
    "data: photos/\nimage_size: 96": "test_readme_own_images.py",
}


def snippet(start: str) -> str:
    found = [code for _, code in SNIPPETS if code.startswith(start)]
    assert len(found) == 1, f"README.md has {len(found)} snippets starting {start!r}"
    return found[0]


def reduced(code: str, *substitutions: tuple[str, str]) -> str:
    for old, new in substitutions:
        assert old in code, f"the README snippet no longer contains {old!r}"
        code = code.replace(old, new)
    return code


def run(code: str) -> dict:
    namespace: dict = {"__name__": "__readme__"}
    exec(compile(code, "README.md", "exec"), namespace)
    return namespace


def test_every_snippet_has_a_test():
    untested = [code[:60] for _, code in SNIPPETS if not any(code.startswith(k) for k in COVERED)]
    assert not untested, f"README snippets without a test in {__file__}: {untested}"
    assert len(SNIPPETS) == len(COVERED)


@pytest.mark.slow
def test_quick_start(tmp_path, monkeypatch, fashion_mnist, imagenet_mobilenet):
    import keras

    monkeypatch.chdir(tmp_path)
    code = reduced(
        snippet("import kerasft as kft\n\n(x_train,"),
        ("kft.fine_tune(model, (x_train, y_train)", "kft.fine_tune(model, (x_train[:256], y_train[:256])"),
        ("epochs=(5, 3)", "epochs=(1, 1)"),
        ("image_size=64", "image_size=32"),
    )  # fmt: skip
    ns = run(code)
    assert ns["history"].epoch == [0, 1]
    assert (tmp_path / "runs" / "quickstart" / "history.csv").exists()
    reloaded = keras.models.load_model(tmp_path / "fashion.keras")
    x = ns["x_test"][:8]
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), ns["model"].predict(x, verbose=0))


def test_callbacks_yaml():
    import keras

    import kerasft as kft

    config = yaml.safe_load(snippet("callbacks:\n  - {name: early_stopping"))
    stop, plateau, nan = kft.callbacks.from_config(config["callbacks"])
    assert isinstance(stop, kft.callbacks.EarlyStopping)
    assert (stop.monitor, stop.patience, stop.restore_best_weights) == ("val_accuracy", 2, True)
    assert isinstance(plateau, keras.callbacks.ReduceLROnPlateau)
    assert (plateau.factor, plateau.patience) == (0.5, 1)
    assert isinstance(nan, keras.callbacks.TerminateOnNaN)


@pytest.mark.slow
def test_callbacks_yaml_in_kerasft_fit(tmp_path, fashion_mnist, imagenet_mobilenet):
    """The README's `callbacks:` block in a `kerasft fit` job with the default recipe (cache
    on): EarlyStopping on val_accuracy with mode auto once crashed the first epoch here."""
    import csv

    from kerasft.cli.main import main

    job = tmp_path / "job.yaml"
    job.write_text(snippet("callbacks:\n  - {name: early_stopping"))
    run_dir = tmp_path / "run"
    args = ["fit", "--config", str(job), "--run-dir", str(run_dir), "--epochs", "2", "2",
            "--set", "train_samples=200", "--set", "val_samples=50", "--set", "image_size=32",
            "--set", "verbose=0"]  # fmt: skip
    assert main(args) == 0
    with open(run_dir / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2, 3]
    assert all(float(r["val_accuracy"]) > 0 for r in rows)


def test_callbacks_in_any_keras_model(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    ns = run(snippet("import keras\nfrom sklearn.datasets import load_digits"))
    assert set(ns["lr"].suggestions) == {"steepest", "valley", "minimum"}
    assert "steepest" in capsys.readouterr().out
    history = ns["model"].history.history
    assert history["val_accuracy"][-1] > 0.5  # 10 classes: it learned, with the one-cycle rate
    assert list((tmp_path / "runs" / "digits").rglob("events.out.tfevents.*"))


def test_plugin_entry_point():
    table = tomllib.loads(snippet('[project.entry-points."kerasft.callbacks"]'))
    shipped = tomllib.loads((ROOT / "plugins" / "kerasft-mlflow" / "pyproject.toml").read_text())
    expected = shipped["project"]["entry-points"]["kerasft.callbacks"]
    assert table["project"]["entry-points"]["kerasft.callbacks"] == expected


def _pets(root: Path, fashion_mnist, per_class: int = 30) -> list[str]:
    from PIL import Image

    (x, y), _, names = fashion_mnist
    classes = [0, 1, 7]  # T-shirt, trouser, sneaker: a small real folder of three classes
    names = [n.split("/")[0] for n in names]  # "T-shirt/top" is no folder name
    for c in classes:
        folder = root / "pets" / names[c]
        folder.mkdir(parents=True)
        for i, k in enumerate(np.flatnonzero(y == c)[:per_class]):
            Image.fromarray(x[k]).convert("RGB").save(folder / f"{i:03d}.jpg")
    return [names[c] for c in classes]


@pytest.mark.slow
def test_own_folder(tmp_path, monkeypatch, capsys, fashion_mnist, imagenet_mobilenet):
    import keras

    monkeypatch.chdir(tmp_path)
    classes = _pets(tmp_path, fashion_mnist)
    code = reduced(
        snippet("import kerasft as kft\n\ndata = kft.data.from_folder"),
        ("image_size=160", "image_size=32"),
        ('augmentation="light")', 'augmentation="light", image_size=32)'),
        ("epochs=(3, 3)", "epochs=(1, 1)"),
    )
    ns = run(code)
    assert sorted(ns["data"].info.class_names) == sorted(classes)
    accuracy = float(capsys.readouterr().out.strip().splitlines()[-1])
    assert accuracy == ns["report"]["accuracy"]
    assert (tmp_path / "runs" / "pets" / "evaluation").is_dir()
    keras.models.load_model(tmp_path / "runs" / "pets" / "model.keras")


@pytest.mark.slow
def test_search_in_python(tmp_path, monkeypatch, fashion_mnist, imagenet_mobilenet):
    monkeypatch.chdir(tmp_path)
    code = reduced(
        snippet("import kerasft as kft\nfrom kerasft.data.keras_datasets"),
        ('"image_size": 64', '"image_size": 32'),
        ("max_trials=12", "max_trials=2"),
        ("(x[:5000], y[:5000]), (x[5000:6000], y[5000:6000])", "(x[:300], y[:300]), (x[300:400], y[300:400])"),
        ('base={"epochs": [2, 2]}', 'base={"epochs": [1, 1]}'),
    )  # fmt: skip
    result = run(code)["result"]
    assert len(result.rows) == 2 and {r["status"] for r in result.rows} == {"COMPLETED"}
    assert result.best_model_path.exists()
    assert result.best["objective"] == max(r["objective"] for r in result.rows)


@pytest.mark.slow
def test_search_yaml(tmp_path, monkeypatch, fashion_mnist, imagenet_mobilenet):
    import csv

    from kerasft.cli import tune as tune_cli
    from kerasft.cli.main import main

    monkeypatch.chdir(tmp_path)
    code = reduced(
        snippet("# kerasft fit keys: the base configuration"),
        ("train_samples: 5000", "train_samples: 300"),
        ("val_samples: 1000", "val_samples: 100"),
        ("epochs: [2, 2]", "epochs: [1, 1]"),
        ("max_trials: 12", "max_trials: 2"),
        ("image_size: 64", "image_size: 32"),
    )
    (tmp_path / "tune.yaml").write_text(code)
    assert main(["tune", str(tmp_path / "tune.yaml")]) == 0
    with open(tmp_path / "runs" / "tune" / "fmnist" / "results.csv") as f:
        rows = list(csv.DictReader(f))
    # Every trial trained with the YAML's early_stopping(val_accuracy) and has an objective.
    assert len(rows) == 2 and {r["status"] for r in rows} == {"COMPLETED"}
    assert all(0 < float(r["objective"]) <= 1 for r in rows)
    # The multi-machine variant: the same YAML with a shared directory and a strategy.
    shared = yaml.safe_load(snippet("directory: /shared/tune\nstrategy: mirrored"))
    search, fit = tune_cli.split_config({**yaml.safe_load(code), **shared})
    assert (search["directory"], search["strategy"]) == ("/shared/tune", "mirrored")
    assert fit["train_samples"] == 300
