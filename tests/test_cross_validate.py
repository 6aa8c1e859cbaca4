"""kft.cross_validate: stratified folds, per-fold run directories, out-of-fold predictions."""

import json

import keras
import numpy as np
import pytest

from kerasft.ensembles import stack
from kerasft.errors import KerasftError
from kerasft.training.cross_validate import cross_validate, stratified_folds


def test_stratified_folds_partition_and_balance():
    y = np.array([0] * 23 + [1] * 11 + [2] * 6)
    folds = stratified_folds(y, k=5, seed=0)
    joined = np.sort(np.concatenate(folds))
    np.testing.assert_array_equal(joined, np.arange(len(y)))  # a partition
    sizes = [len(f) for f in folds]
    assert max(sizes) - min(sizes) <= 1
    for c in range(3):
        counts = [np.sum(y[f] == c) for f in folds]
        assert max(counts) - min(counts) <= 1, (c, counts)
    # Same seed, same folds; another seed, other folds. One-hot labels stratify the same way.
    assert all(np.array_equal(a, b) for a, b in zip(folds, stratified_folds(y, 5, seed=0)))
    assert not all(np.array_equal(a, b) for a, b in zip(folds, stratified_folds(y, 5, seed=1)))
    onehot = stratified_folds(np.eye(3)[y], k=5, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(folds, onehot))
    with pytest.raises(KerasftError, match="k must be"):
        stratified_folds(y, k=1)
    with pytest.raises(KerasftError, match="at least"):
        stratified_folds(y[:3], k=4)


def _blobs(n=60, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    centers = np.array([[2.0, 0, 0, 0], [0, 2.0, 0, 0], [0, 0, 2.0, 0]])
    return (centers[y] + rng.normal(0, 0.7, (n, 4))).astype("float32"), y


def _build():
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3, activation="softmax")], name="blob_net"
    )
    model.compile(keras.optimizers.Adam(0.1), "sparse_categorical_crossentropy")
    return model


def test_cross_validate_with_fit_fn_writes_runs_and_oof(tmp_path):
    x, y = _blobs()
    seen = []

    def fit(model, train, val, run_dir, epochs=1):
        seen.append(run_dir)
        return model.fit(train, validation_data=val, epochs=epochs, verbose=0)

    cv = cross_validate(_build, x, y, k=3, seed=0, run_dir=tmp_path, fit_fn=fit, epochs=8)
    assert seen == [str(tmp_path / f"fold_{f}") for f in range(3)]
    assert cv.oof_predictions.shape == (60, 3)
    np.testing.assert_allclose(cv.oof_predictions.sum(axis=1), 1.0, atol=1e-5)
    accuracies = []
    for f, val_idx in enumerate(cv.folds):
        fold_dir = tmp_path / f"fold_{f}"
        metrics = json.loads((fold_dir / "metrics.json").read_text())
        model = keras.models.load_model(fold_dir / "model.keras")
        probs = keras.ops.convert_to_numpy(model(x[val_idx]))
        # Out-of-fold predictions are the fold model's predictions on its held-out samples.
        np.testing.assert_allclose(cv.oof_predictions[val_idx], probs, atol=1e-5)
        acc = np.mean(probs.argmax(1) == y[val_idx])
        assert metrics["accuracy"] == pytest.approx(acc)
        assert metrics["val_size"] == len(val_idx)
        accuracies.append(acc)
    assert cv.mean["accuracy"] == pytest.approx(np.mean(accuracies))
    assert cv.std["accuracy"] == pytest.approx(np.std(accuracies))
    assert cv.mean["accuracy"] > 0.8  # the blobs are separable: training happened
    saved = json.loads((tmp_path / "cv_results.json").read_text())
    assert saved["mean"]["accuracy"] == pytest.approx(cv.mean["accuracy"])
    np.testing.assert_allclose(np.load(tmp_path / "oof_predictions.npy"), cv.oof_predictions)
    assert "accuracy:" in cv.summary()

    # The out-of-fold predictions feed a stacked ensemble of the fold models.
    models = [keras.models.load_model(tmp_path / f"fold_{f}" / "model.keras") for f in range(2)]
    stacked = stack(models, [cv.oof_predictions] * 2, y, epochs=2)
    assert stacked(x[:2]).shape == (2, 3)


def test_cross_validate_with_kft_fine_tune_default():
    import kerasft as kft

    def build():
        backbone = keras.Sequential(
            [keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, activation="relu")],
            name="tiny_backbone",
        )
        return kft.build(backbone, num_classes=2, input_shape=(8, 8, 3), weights=None)

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (24, 8, 8, 3)).astype("uint8")
    y = np.arange(24) % 2
    cv = cross_validate(build, x, y, k=2, epochs=(1, 0), batch_size=8, verbose=0)
    assert cv.oof_predictions.shape == (24, 2)
    assert len(cv.fold_metrics) == 2 and "accuracy" in cv.mean


def test_cross_validate_bad_inputs():
    x, y = _blobs(12)
    with pytest.raises(KerasftError, match="must match"):
        cross_validate(_build, x, y[:5], k=3, fit_fn=lambda m, t, v: None)
    with pytest.raises(KerasftError, match="not a keras.Model"):
        cross_validate(lambda: "model", x, y, k=3, fit_fn=lambda m, t, v: None)
