"""kft.ensemble / kft.stack: one plain Keras model, equal to the manual combination, reloadable."""

import json
import zipfile

import keras
import numpy as np
import pytest

from kerasft.ensembles import ensemble, stack
from kerasft.errors import KerasftError
from kerasft.evaluation import evaluate


def member(seed, units=4, activation="softmax", name="clf"):
    """Small conv classifiers that all share one name, as several kft.build models would."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Rescaling(1 / 255.0)(inputs)
    x = keras.layers.Conv2D(4, 3, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    init = keras.initializers.RandomNormal(stddev=4.0, seed=seed)
    out = keras.layers.Dense(units, activation=activation, kernel_initializer=init)(x)
    return keras.Model(inputs, out, name=name)


@pytest.fixture(scope="module")
def models():
    return [member(s) for s in range(3)]


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(0).integers(0, 256, (40, 8, 8, 3)).astype("float32")


def run(model, x):
    # A direct call skips predict()'s tracing, which dominates on models this small.
    return keras.ops.convert_to_numpy(model(x, training=False))


def _preds(models, x):
    return np.stack([run(m, x) for m in models])


def _only_keras_modules(path):
    config = json.loads(zipfile.ZipFile(path).read("config.json"))
    modules = set()

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("module"), str):
                modules.add(node["module"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(config)
    return modules


def test_mean_and_weighted_match_manual_and_reload(models, x, tmp_path):
    p = _preds(models, x)
    mean = ensemble(models, method="mean")
    np.testing.assert_allclose(run(mean, x), p.mean(axis=0), atol=1e-6)
    weighted = ensemble(models, method="weighted", weights=[2, 1, 1])
    expected = 0.5 * p[0] + 0.25 * p[1] + 0.25 * p[2]
    np.testing.assert_allclose(run(weighted, x), expected, atol=1e-6)

    for name, model in (("mean", mean), ("weighted", weighted)):
        path = tmp_path / f"{name}.keras"
        model.save(path)
        assert all(m == "builtins" or m.startswith("keras") for m in _only_keras_modules(path))
        reloaded = keras.models.load_model(path, safe_mode=True)
        np.testing.assert_allclose(run(reloaded, x), run(model, x), atol=1e-6)


def test_vote_is_majority_of_argmax(models, x, tmp_path):
    p = _preds(models, x)
    one_hot = np.eye(4)[p.argmax(axis=2)]  # (models, N, classes)
    votes = one_hot.mean(axis=0)
    vote = ensemble(models, method="vote")
    out = run(vote, x)
    np.testing.assert_allclose(out, votes, atol=2e-3)  # plus a 1e-3 tie-breaker
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-5)
    # Where the vote is tied the higher mean probability wins.
    expected = np.argmax(votes + 1e-3 * p.mean(axis=0), axis=1)
    np.testing.assert_array_equal(out.argmax(axis=1), expected)
    assert (votes.max(axis=1) < 0.5).any() or (votes.max(axis=1) > 0.5).all()

    path = tmp_path / "vote.keras"
    vote.save(path)
    reloaded = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_allclose(run(reloaded, x), out, atol=1e-6)
    # evaluate sees through the ensemble to its members' softmax.
    assert evaluate(ensemble(models), (x, np.arange(40) % 4), num_top_losses=0).task == "multiclass"


def test_binary_vote_and_weighted_vote(x):
    binaries = [member(s, units=1, activation="sigmoid", name="b") for s in range(3)]
    p = _preds(binaries, x)[..., 0]
    out = run(ensemble(binaries, method="vote"), x)[:, 0]
    votes = (p >= 0.5).mean(axis=0)
    np.testing.assert_allclose(out, votes, atol=2e-3)
    np.testing.assert_array_equal(out >= 0.5, votes >= 0.5)
    weighted = run(ensemble(binaries, method="vote", weights=[0.6, 0.2, 0.2]), x)
    np.testing.assert_array_equal(weighted[:, 0] >= 0.5, p[0] >= 0.5)  # first member decides


def test_bad_members_and_arguments(models):
    with pytest.raises(KerasftError, match="Unknown ensemble method"):
        ensemble(models, method="median")
    with pytest.raises(KerasftError, match="needs weights"):
        ensemble(models, method="weighted")
    with pytest.raises(KerasftError, match="one weight per model"):
        ensemble(models, method="weighted", weights=[1, 2])
    with pytest.raises(KerasftError, match="non-negative"):
        ensemble(models, method="weighted", weights=[1, -1, 1])
    with pytest.raises(KerasftError, match="shares weights"):
        ensemble([models[0], models[0]])
    with pytest.raises(KerasftError, match="output shape"):
        ensemble([models[0], member(5, units=3)])
    other_input = keras.Sequential(
        [
            keras.Input((9, 9, 3)),
            keras.layers.Flatten(),
            keras.layers.Dense(4, activation="softmax"),
        ]
    )
    with pytest.raises(KerasftError, match="share one raw input"):
        ensemble([models[0], other_input])


def _fixed_model(kernel, name):
    """A softmax classifier of feature vectors with a hand-set kernel."""
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(4, activation="softmax")], name=name
    )
    model.layers[-1].set_weights([kernel.astype("float32"), np.zeros(4, "float32")])
    return model


def test_stacking_beats_mean_when_members_are_systematically_wrong(tmp_path):
    rng = np.random.default_rng(0)

    def data(n):
        y = rng.integers(0, 4, n)
        return (np.eye(4)[y] + rng.normal(0, 0.45, (n, 4))).astype("float32"), y

    (x_train, y_train), (x_test, y_test) = data(600), data(600)
    shift = np.roll(np.eye(4), 1, axis=1)  # predicts class (y + 1) % 4
    models = [
        _fixed_model(3 * np.eye(4), "good"),
        _fixed_model(3 * shift, "shifted"),
        _fixed_model(3 * shift @ shift, "shifted_twice"),
    ]
    oof = [run(m, x_train) for m in models]
    stacked = stack(models, oof, y_train, epochs=50)
    mean_acc = np.mean(run(ensemble(models), x_test).argmax(1) == y_test)
    good_acc = np.mean(run(models[0], x_test).argmax(1) == y_test)
    stack_acc = np.mean(run(stacked, x_test).argmax(1) == y_test)
    assert stack_acc >= mean_acc + 0.1
    assert stack_acc >= good_acc - 0.02

    path = tmp_path / "stack.keras"
    stacked.save(path)
    reloaded = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_allclose(run(reloaded, x_test), run(stacked, x_test), atol=1e-6)
    with pytest.raises(KerasftError, match="for 2 models but 3"):
        stack(models, oof[:2], y_train)
    with pytest.raises(KerasftError, match="same training samples"):
        stack(models, oof, y_train[:10])
