"""Metric values checked by hand and against scikit-learn (a dev-only dependency)."""

import numpy as np
import pytest
from sklearn import metrics as skm

from kerasft.errors import KerasftError
from kerasft.evaluation import metrics as M


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.fixture
def multiclass():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 6, 300)
    logits = rng.normal(size=(300, 6))
    logits[np.arange(300), y] += 1.2  # better than chance, far from perfect
    return y, _softmax(logits)


def test_hand_computed_small_case():
    y = np.array([0, 0, 1, 1, 2])
    probs = np.array(
        [
            [0.7, 0.2, 0.1],  # right, conf 0.7
            [0.3, 0.6, 0.1],  # wrong -> 1, conf 0.6
            [0.1, 0.8, 0.1],  # right, conf 0.8
            [0.2, 0.7, 0.1],  # right, conf 0.7
            [0.5, 0.1, 0.4],  # wrong -> 0, conf 0.5
        ]
    )
    m = M.classification_metrics(y, probs, "multiclass", class_names=["a", "b", "c"], top_k=2)
    assert m["accuracy"] == pytest.approx(3 / 5)
    assert m["top_k_accuracy"] == pytest.approx(5 / 5)
    assert m["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    # class a: tp=1, fp=1, fn=1; class b: tp=2, fp=1, fn=0; class c: tp=0, fp=0, fn=1
    assert m["per_class"]["a"]["precision"] == pytest.approx(0.5)
    assert m["per_class"]["b"]["precision"] == pytest.approx(2 / 3)
    assert m["per_class"]["b"]["recall"] == pytest.approx(1.0)
    assert m["per_class"]["c"]["f1"] == 0.0
    assert m["macro"]["recall"] == pytest.approx((0.5 + 1.0 + 0.0) / 3)
    assert m["micro"]["f1"] == pytest.approx(0.6)
    # ECE, 15 bins of width 1/15: 0.5 -> bin 7, 0.6 -> bin 8, 0.7/0.7 -> bin 10, 0.8 -> bin 11.
    expected = (1 / 5) * abs(0 - 0.5) + (1 / 5) * abs(0 - 0.6) + (2 / 5) * abs(1 - 0.7)
    expected += (1 / 5) * abs(1 - 0.8)
    assert m["ece"] == pytest.approx(expected)
    assert m["most_confused"] == [
        {"true": "a", "predicted": "b", "count": 1},
        {"true": "c", "predicted": "a", "count": 1},
    ]
    loss = -np.mean(np.log([0.7, 0.3, 0.8, 0.7, 0.4]))
    assert m["loss"] == pytest.approx(loss)


def test_multiclass_against_sklearn(multiclass):
    y, probs = multiclass
    m = M.classification_metrics(y, probs, "multiclass", top_k=3)
    pred = probs.argmax(axis=1)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert m["top_k_accuracy"] == pytest.approx(skm.top_k_accuracy_score(y, probs, k=3))
    np.testing.assert_array_equal(m["confusion_matrix"], skm.confusion_matrix(y, pred))
    p, r, f, s = skm.precision_recall_fscore_support(y, pred, zero_division=0)
    for c in range(6):
        row = m["per_class"][str(c)]
        assert (row["precision"], row["recall"], row["f1"]) == pytest.approx((p[c], r[c], f[c]))
        assert row["support"] == s[c]
    for avg in ("macro", "micro", "weighted"):
        p, r, f, _ = skm.precision_recall_fscore_support(y, pred, average=avg, zero_division=0)
        assert (m[avg]["precision"], m[avg]["recall"], m[avg]["f1"]) == pytest.approx((p, r, f))
    assert m["roc_auc"] == pytest.approx(
        skm.roc_auc_score(y, probs, multi_class="ovr", average="macro")
    )
    assert m["loss"] == pytest.approx(skm.log_loss(y, probs))


def test_binary_against_sklearn():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 200)
    p = np.clip(0.5 + 0.3 * (y - 0.5) + rng.normal(0, 0.25, 200), 0.001, 0.999)
    # Rounded scores make ties, which the rank-based AUC must handle like sklearn's.
    p = np.round(p, 1)
    m = M.classification_metrics(y, p[:, None], "binary", class_names=["neg", "pos"])
    pred = (p >= 0.5).astype(int)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, p))
    np.testing.assert_array_equal(m["confusion_matrix"], skm.confusion_matrix(y, pred))
    prec, rec, f1, _ = skm.precision_recall_fscore_support(y, pred, zero_division=0)
    assert m["per_class"]["pos"]["precision"] == pytest.approx(prec[1])
    assert m["per_class"]["neg"]["recall"] == pytest.approx(rec[0])
    assert m["per_class"]["pos"]["f1"] == pytest.approx(f1[1])
    assert m["top_k_accuracy"] is None


def test_multilabel_against_sklearn():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, (150, 4))
    probs = np.clip(0.5 + 0.35 * (y - 0.5) + rng.normal(0, 0.2, y.shape), 0.0, 1.0)
    m = M.classification_metrics(y, probs, "multilabel")
    pred = (probs >= 0.5).astype(int)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))  # subset accuracy
    assert m["hamming_accuracy"] == pytest.approx(1 - skm.hamming_loss(y, pred))
    np.testing.assert_array_equal(m["confusion_matrix"], skm.multilabel_confusion_matrix(y, pred))
    for avg in ("macro", "micro", "weighted"):
        p, r, f, _ = skm.precision_recall_fscore_support(y, pred, average=avg, zero_division=0)
        assert (m[avg]["precision"], m[avg]["recall"], m[avg]["f1"]) == pytest.approx((p, r, f))
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, probs, average="macro"))
    assert m["roc_auc_micro"] == pytest.approx(skm.roc_auc_score(y, probs, average="micro"))
    for c in range(4):
        assert m["per_class"][str(c)]["roc_auc"] == pytest.approx(
            skm.roc_auc_score(y[:, c], probs[:, c])
        )


def test_ece_hand_computed_and_perfect_calibration():
    conf = np.array([0.05, 0.95, 0.95, 1.0])
    correct = np.array([0, 1, 0, 1])
    # bin 0 holds 0.05 (acc 0); bin 14 holds 0.95, 0.95, 1.0 (acc 2/3, mean conf 0.9667).
    expected = 0.25 * 0.05 + 0.75 * abs(2 / 3 - (0.95 + 0.95 + 1.0) / 3)
    assert M.expected_calibration_error(conf, correct) == pytest.approx(expected)
    assert M.expected_calibration_error(np.full(10, 0.7), np.r_[np.ones(7), np.zeros(3)]) == (
        pytest.approx(0.0)
    )


def test_labels_one_hot_and_errors():
    onehot = np.eye(3)[[2, 0, 1]]
    np.testing.assert_array_equal(M.labels_to_indices(onehot, "multiclass", 3), [2, 0, 1])
    np.testing.assert_array_equal(M.labels_to_indices(np.array([[1], [0]]), "binary", 1), [1, 0])
    with pytest.raises(KerasftError, match="lie in"):
        M.labels_to_indices(np.array([0, 3]), "multiclass", 3)
    with pytest.raises(KerasftError, match="multi-hot"):
        M.labels_to_indices(np.array([0, 1]), "multilabel", 3)
    with pytest.raises(KerasftError, match="class names"):
        M.classification_metrics(np.array([0, 1]), np.eye(2), "multiclass", class_names=["x"])


def test_auc_undefined_for_single_class_is_none():
    y = np.array([0, 0, 0])
    probs = _softmax(np.random.default_rng(3).normal(size=(3, 2)))
    m = M.classification_metrics(y, probs, "multiclass")
    assert m["per_class"]["0"]["roc_auc"] is None
    assert m["roc_auc"] is None
