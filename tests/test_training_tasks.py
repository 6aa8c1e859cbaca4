"""One `infer_task`: training (`kft.compile`'s loss) and evaluation (`kft.evaluate`) agree."""

import ast
from pathlib import Path

import keras
import numpy as np
import pytest

import kerasft as kft
from kerasft.errors import KerasftError
from kerasft.training.tasks import infer_task, output_activation

ROOT = Path(__file__).resolve().parents[1]

# The task a compiled loss trains, as kft.compile chose it.
LOSS_TASK = {
    "CategoricalCrossentropy": {"multiclass"},
    "BinaryCrossentropy": {"binary", "multilabel"},
    "MeanSquaredError": {"regression"},
}


def _dense(units, activation=None):
    inputs = keras.Input((4,))
    return inputs, keras.layers.Dense(units, activation=activation)(inputs)


def _softmax_layer():
    inputs, x = _dense(3)
    return keras.Model(inputs, keras.layers.Softmax()(x))


def _averaged_sigmoids():
    inputs = keras.Input((4,))
    members = [keras.layers.Dense(1, activation="sigmoid")(inputs) for _ in range(2)]
    return keras.Model(inputs, keras.layers.Average()(members))


def _compiled(model, loss):
    model.compile(loss=loss)
    return model


CASES = {
    "softmax": (lambda: keras.Model(*_dense(3, "softmax")), "multiclass"),
    "one sigmoid": (lambda: keras.Model(*_dense(1, "sigmoid")), "binary"),
    "three sigmoids": (lambda: keras.Model(*_dense(3, "sigmoid")), "multilabel"),
    "Softmax layer": (_softmax_layer, "multiclass"),
    "averaged sigmoids": (_averaged_sigmoids, "binary"),
    "one linear unit": (lambda: keras.Model(*_dense(1)), "regression"),
    "one linear unit, mse": (lambda: _compiled(keras.Model(*_dense(1)), "mse"), "regression"),
    "one linear unit, bce logits": (
        lambda: _compiled(
            keras.Model(*_dense(1)), keras.losses.BinaryCrossentropy(from_logits=True)
        ),
        "binary",
    ),
    "one linear unit, 'binary_crossentropy'": (
        lambda: _compiled(keras.Model(*_dense(1)), "binary_crossentropy"),
        "binary",
    ),
    "three linear, bce": (
        lambda: _compiled(
            keras.Model(*_dense(3)), keras.losses.BinaryCrossentropy(from_logits=True)
        ),
        "multilabel",
    ),
    "three linear, sparse cce": (
        lambda: _compiled(keras.Model(*_dense(3)), "sparse_categorical_crossentropy"),
        "multiclass",
    ),
    "three linear": (lambda: keras.Model(*_dense(3)), "regression"),
}


def _labels(task, units, n=12):
    rng = np.random.default_rng(0)
    if task == "multiclass":
        return np.arange(n) % units
    if task == "binary":
        return (np.arange(n) % 2)[:, None]
    return rng.integers(0, 2, (n, units))


@pytest.mark.parametrize("case", sorted(CASES))
def test_compile_and_evaluate_read_the_same_task(case):
    build, expected = CASES[case]
    keras.utils.set_random_seed(0)
    assert infer_task(build()) == expected
    units = build().outputs[0].shape[-1]

    # Training's view: the loss kft.compile picks for the model.
    compiled = kft.compile(build(), lr=1e-3)
    trained = LOSS_TASK[type(compiled.loss).__name__]
    assert expected in trained
    logits = output_activation(compiled) in (None, "linear")
    if expected != "regression":
        assert compiled.loss.get_config()["from_logits"] == logits

    # Evaluation's view: the task of the report kft.evaluate writes.
    x = np.random.default_rng(1).normal(size=(12, 4)).astype("float32")
    if expected == "regression":
        with pytest.raises(KerasftError, match="regression"):
            kft.evaluate(build(), (x, _labels("multiclass", units)), num_top_losses=0)
        return
    report = kft.evaluate(build(), (x, _labels(expected, units)), num_top_losses=0)
    assert report.task == expected


def test_compile_keeps_a_logits_classifier_on_logits():
    inputs = keras.Input((4,))
    unit = keras.layers.Dense(1, kernel_initializer="zeros", bias_initializer="zeros")
    model = keras.Model(inputs, unit(inputs))
    model.compile(loss=keras.losses.BinaryCrossentropy(from_logits=True))
    kft.compile(model, lr=1e-3, label_smoothing=0.1)
    unit.bias.assign([0.3])  # every logit is 0.3: probability 0.574, class 1
    x, y = np.zeros((8, 4), "float32"), np.ones((8, 1), "float32")
    result = model.evaluate(x, y, verbose=0, return_dict=True)
    p, target = 1 / (1 + np.exp(-0.3)), 0.95  # smoothed label
    expected = -(target * np.log(p) + (1 - target) * np.log(1 - p))
    assert result["loss"] == pytest.approx(expected, rel=1e-4)
    assert result["accuracy"] == 1.0  # thresholded at logit 0, not at 0.5


def test_infer_task_needs_one_output():
    inputs = keras.Input((4,))
    two = keras.Model(inputs, [keras.layers.Dense(1)(inputs), keras.layers.Dense(2)(inputs)])
    with pytest.raises(KerasftError, match="exactly one output"):
        infer_task(two)


def test_every_site_uses_the_one_infer_task():
    import kerasft.evaluation

    assert kerasft.evaluation.infer_task is infer_task
    # No second copy: only tasks.py defines a function of that name.
    defined = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "kerasft").rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.name in ("infer_task", "_infer_task", "output_activation", "_output_activation")
    ]
    assert defined == ["kerasft/training/tasks.py", "kerasft/training/tasks.py"]
