"""kft.evaluate on tiny real Keras models: metrics, files, TensorBoard, label layouts, errors."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from sklearn import metrics as skm

from kerasft.errors import KerasftError
from kerasft.evaluation import evaluate, infer_task

SIZE = 16


def conv_classifier(units=3, activation="softmax", seed=0):
    """Input -> Rescaling -> nested conv backbone (training=False) -> pooling -> Dense, as kft.build."""
    keras.utils.set_random_seed(seed)
    bb_in = keras.Input((SIZE, SIZE, 3))
    h = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(bb_in)
    h = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(h)
    backbone = keras.Model(bb_in, h, name="backbone")
    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.Rescaling(1 / 255.0)(inputs)
    x = backbone(x, training=False)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.2)(x)
    # Large head weights spread the probabilities, so metrics are not all ties.
    out = keras.layers.Dense(
        units,
        activation=activation,
        kernel_initializer=keras.initializers.RandomNormal(stddev=3.0, seed=1),
    )(x)
    return keras.Model(inputs, out, name="clf")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (60, SIZE, SIZE, 3)).astype("uint8")
    y = rng.integers(0, 3, 60)
    return x, y


@pytest.fixture(scope="module")
def model():
    return conv_classifier()


def test_multiclass_report_matches_sklearn_and_writes_files(model, data, tmp_path):
    x, y = data
    names = ["cat", "dog", "bird"]
    report = evaluate(model, (x, y), class_names=names, out_dir=tmp_path, top_k=2)
    probs = model.predict(x, verbose=0)
    pred = probs.argmax(axis=1)
    np.testing.assert_allclose(report.y_prob, probs, rtol=1e-5, atol=1e-6)
    assert report.task == "multiclass"
    assert report["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert report["top_k_accuracy"] == pytest.approx(skm.top_k_accuracy_score(y, probs, k=2))
    f1 = skm.f1_score(y, pred, average=None, labels=[0, 1, 2], zero_division=0)
    assert [report["per_class"][n]["f1"] for n in names] == pytest.approx(f1)
    assert report["weighted"]["f1"] == pytest.approx(
        skm.f1_score(y, pred, average="weighted", zero_division=0)
    )
    np.testing.assert_array_equal(report["confusion_matrix"], skm.confusion_matrix(y, pred))

    for name in ("report.json", "report.md", "confusion_matrix.png", "top_losses.png"):
        assert (tmp_path / name).stat().st_size > 0
    # The model has a conv backbone, so the Grad-CAM variant of the grid is drawn too.
    assert (tmp_path / "top_losses_gradcam.png").read_bytes()[:4] == b"\x89PNG"
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["accuracy"] == report["accuracy"]
    assert saved["class_names"] == names
    md = (tmp_path / "report.md").read_text()
    assert "| cat |" in md and "top-2 accuracy" in md

    # Top losses are the highest per-sample cross-entropies, worst first.
    losses = -np.log(np.clip(probs[np.arange(len(y)), y], 1e-7, 1))
    worst = np.argsort(-losses)[:16]
    assert [t["index"] for t in report.top_losses] == worst.tolist()
    first = report.top_losses[0]
    assert first["true"] == names[y[worst[0]]]
    assert first["predicted"] == names[pred[worst[0]]]
    assert first["probability"] == pytest.approx(probs[worst[0]].max(), rel=1e-5)
    np.testing.assert_array_equal(report.top_loss_images[0], x[worst[0]])
    heat = report.top_loss_heatmaps
    assert heat.shape == (16, SIZE, SIZE) and heat.min() >= 0 and heat.max() <= 1


def test_dataset_and_one_hot_labels_give_same_report(model, data):
    x, y = data
    ref = evaluate(model, (x, y), num_top_losses=0)
    batched = tf.data.Dataset.from_tensor_slices((x, np.eye(3)[y])).batch(7)
    unbatched = tf.data.Dataset.from_tensor_slices((x, y))
    for ds in (batched, unbatched):
        report = evaluate(model, ds, num_top_losses=0)
        assert report["accuracy"] == ref["accuracy"]
        assert report["macro"] == pytest.approx(ref["macro"])
        np.testing.assert_array_equal(report.y_true, y)


def test_binary_and_multilabel_models(data):
    x, y = data
    binary = conv_classifier(units=1, activation="sigmoid")
    yb = (y == 1).astype(int)
    report = evaluate(binary, (x, yb[:, None]), class_names=["no", "yes"])
    p = binary.predict(x, verbose=0)[:, 0]
    assert report.task == "binary"
    assert report["roc_auc"] == pytest.approx(skm.roc_auc_score(yb, p), rel=1e-6)
    assert report["accuracy"] == pytest.approx(np.mean((p >= 0.5) == yb))

    multilabel = conv_classifier(units=3, activation="sigmoid")
    ym = np.stack([y == 0, y != 0, y == 2], axis=1).astype(int)
    report = evaluate(multilabel, (x, ym))
    probs = multilabel.predict(x, verbose=0)
    assert report.task == "multilabel"
    assert report["roc_auc"] == pytest.approx(skm.roc_auc_score(ym, probs, average="macro"))
    assert report["micro"]["f1"] == pytest.approx(
        skm.f1_score(ym, (probs >= 0.5).astype(int), average="micro", zero_division=0)
    )


def test_logits_model_gets_softmax_and_task_inference():
    keras.utils.set_random_seed(0)
    logits = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    assert infer_task(conv_classifier()) == "multiclass"
    x = np.random.default_rng(0).normal(size=(30, 4)).astype("float32")
    y = np.arange(30) % 3
    # Uncompiled, a linear output is a regression model: evaluate says so and names task=.
    assert infer_task(logits) == "regression"
    with pytest.raises(KerasftError, match="task='multiclass'"):
        evaluate(logits, (x, y), num_top_losses=0)
    z = logits.predict(x, verbose=0)
    expected = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    report = evaluate(logits, (x, y), num_top_losses=0, task="multiclass")
    np.testing.assert_allclose(report.y_prob, expected, rtol=1e-5)
    # Its cross-entropy loss on logits makes it a multiclass model without task=.
    logits.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    assert infer_task(logits) == "multiclass"
    report = evaluate(logits, (x, y), num_top_losses=0)
    assert report.task == "multiclass"
    np.testing.assert_allclose(report.y_prob, expected, rtol=1e-5)


def test_tensorboard_logging(model, data, tmp_path):
    x, y = data
    evaluate(model, (x[:20], y[:20]), tensorboard_dir=tmp_path / "tb", num_top_losses=4)
    tags = set()
    for event_file in (tmp_path / "tb").glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(event_file)):
            tags |= {v.tag for v in event.summary.value}
    assert {"evaluation/accuracy", "evaluation/report", "evaluation/confusion_matrix"} <= tags
    assert {"evaluation/top_losses", "evaluation/top_losses_gradcam"} <= tags


def test_model_path_and_bad_inputs(model, data, tmp_path):
    x, y = data
    model.save(tmp_path / "model.keras")
    report = evaluate(str(tmp_path), (x, y), num_top_losses=0)  # a run directory
    assert report["accuracy"] == evaluate(model, (x, y), num_top_losses=0)["accuracy"]
    with pytest.raises(KerasftError, match="lie in"):
        evaluate(model, (x[:4], np.array([0, 1, 2, 5])))
    with pytest.raises(KerasftError, match="same length"):
        evaluate(model, (x[:4], y[:3]))
    with pytest.raises(KerasftError, match="tuple"):
        evaluate(model, x)
    with pytest.raises(KerasftError, match="top_k"):
        evaluate(model, (x, y), top_k=0)
    with pytest.raises(KerasftError, match="images only"):
        evaluate(model, tf.data.Dataset.from_tensor_slices(x).batch(4))
    with pytest.raises(KerasftError, match="No model"):
        evaluate(str(tmp_path / "missing"), (x, y))


def test_grayscale_batches_without_channel_axis():
    keras.utils.set_random_seed(0)
    gray = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(2, 3, name="conv"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    rng = np.random.default_rng(0)
    x, y = rng.random((12, 8, 8)).astype("float32"), np.arange(12) % 3
    expected = gray.predict(x[..., None], verbose=0)
    for data in (
        (x, y),  # (N, H, W) arrays
        tf.data.Dataset.from_tensor_slices((x, y)).batch(5),  # (B, H, W) batches
        tf.data.Dataset.from_tensor_slices((x[..., None], y)),  # single (H, W, 1) images
    ):
        report = evaluate(gray, data, num_top_losses=3)
        np.testing.assert_allclose(report.y_prob, expected, atol=1e-6)
        assert report.top_loss_heatmaps.shape == (3, 8, 8)
