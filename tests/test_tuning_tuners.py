"""Every tuner once on a tiny CNN and 256 Fashion-MNIST images; multi-fidelity promotion."""

import csv

import numpy as np
import pytest

from kerasft.data.keras_datasets import load_arrays
from kerasft.tuning import SearchSpace, tune
from kerasft.tuning.backbones import SMALL_CNN

BASE = {
    "backbone": SMALL_CNN,
    "weights": None,
    "image_size": 32,
    "epochs": [1, 1],
    "batch_size": 32,
    "unfreeze_blocks": 1,
    "lr": 3e-3,
}


@pytest.fixture(scope="module")
def data():
    (x, y), _, _ = load_arrays("fashion_mnist")
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(y))[:384]
    x, y = x[idx], y[idx]
    return (x[:256], y[:256]), (x[256:], y[256:])


def history_lengths(project):
    return {
        d.name: len((d / "run" / "history.csv").read_text().splitlines()) - 1
        for d in sorted(project.glob("trial_*"))
    }


@pytest.mark.parametrize("name", ["grid", "bayesian", "hyperband"])
def test_tuner_runs(name, data, tmp_path):
    space = SearchSpace({"hidden_units": [0, 16], "lr": [1e-3, 3e-3]}, only=["hidden_units", "lr"])
    result = tune(
        *data,
        space=space,
        # Hyperband splits its epoch budget over both phases; the others need no phase 2 here.
        base={**BASE, "epochs": [1, 1] if name == "hyperband" else [1, 0]},
        tuner=name,
        max_trials=3,
        max_epochs=2,
        directory=tmp_path,
        overwrite=True,
        export=False,
    )
    assert result.rows and all(r["status"] == "COMPLETED" for r in result.rows)
    assert len({r["trial"] for r in result.rows}) == len(result.rows)
    if name == "grid":
        assert (
            len(result.rows) == 3 and len({(r["hidden_units"], r["lr"]) for r in result.rows}) == 3
        )
    if name == "hyperband":
        # max_epochs=2, factor 2: a bracket of 1-epoch trials, then 2-epoch ones.
        assert len(result.rows) >= 2
        lengths = set(history_lengths(tmp_path / "search").values())
        assert lengths <= {1, 2} and 1 in lengths
    assert 0.0 <= result.best["objective"] <= 1.0


def test_promote_screens_head_only_then_runs_finalists_fully(data, tmp_path, capsys):
    space = SearchSpace(
        {"lr": {"min": 1e-4, "max": 1e-2}, "dropout": [0.0, 0.3]}, only=["lr", "dropout"]
    )
    common = dict(space=space, base=BASE, directory=tmp_path, export=False, overwrite=True)
    result = tune(*data, tuner="random", max_trials=3, promote=2, **common)
    screening = tmp_path / "search"
    with open(screening / "screening" / "results.csv") as f:
        screened = list(csv.DictReader(f))
    assert len(screened) == 3
    assert set(history_lengths(screening).values()) == {1}  # head phase only
    promoted = tmp_path / "search_promoted"
    assert result.directory == promoted and len(result.rows) == 2
    assert set(history_lengths(promoted).values()) == {2}  # both phases
    top = [(round(float(r["lr"]), 8), float(r["dropout"])) for r in screened[:2]]
    assert sorted((round(r["lr"], 8), r["dropout"]) for r in result.rows) == sorted(top)

    # About the same budget in epochs (3 x 1 + 2 x 2 = 7 vs 3 x 2 = 6) in plain random search.
    plain = tune(*data, tuner="random", max_trials=3, project_name="plain", **common)
    with capsys.disabled():
        print(
            f"\n[promote] best val_accuracy: promote=2 {result.best['objective']:.3f}, "
            f"same-budget random {plain.best['objective']:.3f}"
        )
