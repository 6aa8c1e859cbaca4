"""Every tuner once on the tiny CNN and 512 Fashion-MNIST images; multi-fidelity promotion."""

import csv
import json

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
    "ft_lr": None,  # lr / 10: a trial's phase 2 keeps its head rate's good or bad choice
}
GOOD_LR, BAD_LR = 3e-3, 1e-6  # the bad rate leaves the head at chance (0.10)


@pytest.fixture(scope="module")
def data():
    (x, y), _, _ = load_arrays("fashion_mnist")
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(y))[:1024]
    x, y = x[idx], y[idx]
    return (x[:512], y[:512]), (x[512:], y[512:])


def history_lengths(project):
    return {
        d.name.removeprefix("trial_"): len((d / "run" / "history.csv").read_text().splitlines()) - 1
        for d in sorted(project.glob("trial_*"))
    }


def val_accuracies(project, trial):
    with open(project / f"trial_{trial}" / "run" / "history.csv") as f:
        return [float(r["val_accuracy"]) for r in csv.DictReader(f)]


def point(row):
    """A row's (lr, dropout), whether read from results.csv (strings) or returned."""
    return round(float(row["lr"]), 8), float(row["dropout"])


def hyperband_schedule(project):
    """`{trial: (bracket, round, epochs, parent trial or None)}` from KerasTuner's trial.json."""
    schedule = {}
    for path in project.glob("trial_*/trial.json"):
        values = json.loads(path.read_text())["hyperparameters"]["values"]
        schedule[path.parent.name.removeprefix("trial_")] = (
            values["tuner/bracket"],
            values["tuner/round"],
            values["tuner/epochs"],
            values.get("tuner/trial_id"),
        )
    return schedule


@pytest.mark.parametrize("name", ["grid", "bayesian", "hyperband"])
def test_tuner_finds_the_good_learning_rate(name, data, tmp_path):
    # Any 3 distinct points of this 2 x 2 space hold both learning rates.
    space = SearchSpace(
        {"hidden_units": [0, 16], "lr": [BAD_LR, GOOD_LR]}, only=["hidden_units", "lr"]
    )
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
    rows = result.rows
    assert rows and all(r["status"] == "COMPLETED" for r in rows)
    assert len({r["trial"] for r in rows}) == len(rows)
    points = {(r["hidden_units"], r["lr"]) for r in rows}
    if name != "hyperband":  # hyperband re-runs its best points for longer, as new trials
        assert len(rows) == 3 and len(points) == 3
    assert {r["lr"] for r in rows} == {BAD_LR, GOOD_LR}
    # The search tells the rates apart: the best trial has the good one, clearly ahead of
    # the best trial of the bad one (which learns nothing in one epoch).
    best_bad = max(r["objective"] for r in rows if r["lr"] == BAD_LR)
    assert result.best["lr"] == GOOD_LR
    assert result.best["objective"] > best_bad + 0.2, rows
    project = tmp_path / "search"
    objectives = {r["trial"]: r["objective"] for r in rows}
    for trial, score in objectives.items():  # the table holds what each trial logged
        assert score == pytest.approx(max(val_accuracies(project, trial)))
    if name == "hyperband":
        # max_epochs=2, factor 2: bracket 1 screens two 1-epoch trials, then its second round
        # continues the better one for 2 epochs; bracket 0 runs two 2-epoch trials.
        schedule = hyperband_schedule(project)
        lengths = history_lengths(project)
        assert set(schedule) == set(lengths) == set(objectives)
        first = [t for t, (b, r, _, _) in schedule.items() if (b, r) == (1, 0)]
        second = [t for t, (b, r, _, _) in schedule.items() if (b, r) == (1, 1)]
        assert len(first) == 2 and len(second) == 1
        assert {lengths[t] for t in first} == {1} and {lengths[t] for t in second} == {2}
        [longer] = second
        assert schedule[longer][2] == 2
        # The second round continued the first round's better trial.
        assert schedule[longer][3] == max(first, key=objectives.get)


def test_promote_screens_head_only_then_finalists_beat_their_screening(data, tmp_path):
    space = SearchSpace(
        {"lr": {"min": 1e-3, "max": 1e-2}, "dropout": [0.0, 0.3]}, only=["lr", "dropout"]
    )
    result = tune(
        *data,
        space=space,
        base={**BASE, "epochs": [1, 3], "ft_lr": 1e-3},
        tuner="random",
        max_trials=3,
        promote=2,
        directory=tmp_path,
        export=False,
        overwrite=True,
    )
    screening = tmp_path / "search"
    with open(screening / "screening" / "results.csv") as f:
        screened = list(csv.DictReader(f))
    assert len(screened) == 3
    assert set(history_lengths(screening).values()) == {1}  # head phase only
    promoted = tmp_path / "search_promoted"
    assert result.directory == promoted and len(result.rows) == 2
    assert set(history_lengths(promoted).values()) == {4}  # both phases
    screen_score = {point(r): float(r["objective"]) for r in screened}
    top = sorted(screen_score, key=lambda k: -screen_score[k])[:2]
    assert sorted(point(r) for r in result.rows) == sorted(top)
    # The full recipe pays off: each finalist scores clearly above what its head phase
    # scored in the screening (it was picked for that score, so luck is on the other side).
    for row in result.rows:
        before = screen_score[point(row)]
        after = row["objective"]
        print(f"\n[promote] lr {row['lr']:.4f}: screening {before:.3f}, full recipe {after:.3f}")
        assert after > before + 0.03, (before, after)


@pytest.mark.parametrize("seed", [0, 7])
def test_a_seeded_search_draws_the_same_trials_again(seed, tmp_path):
    import keras_tuner as kt

    from kerasft import config
    from kerasft.tuning import FineTuneHyperModel
    from kerasft.tuning.tuners import make_tuner

    space = SearchSpace(
        {"lr": {"min": 1e-4, "max": 1e-2}, "dropout": [0.0, 0.3]}, only=["lr", "dropout"]
    )
    hypermodel = FineTuneHyperModel(
        space, config.resolve(BASE), num_classes=10, input_shape=(28, 28)
    )

    def draws(seed, project):
        tuner = make_tuner(
            "random",
            hypermodel,
            objective=kt.Objective("val_accuracy", "max"),
            max_trials=3,
            directory=str(tmp_path),
            project_name=project,
            seed=seed,
        )
        return [tuner.oracle.create_trial(f"t{i}").hyperparameters.values for i in range(3)]

    first = draws(seed, "first")
    assert draws(seed, "again") == first
    assert draws(seed + 1, "other") != first
