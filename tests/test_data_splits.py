"""Stratified splits and class weights."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.utils.class_weight import compute_class_weight

import kerasft.data as kdata
from kerasft.errors import KerasftError


def test_split_indices_keep_class_proportions():
    labels = np.repeat([0, 1, 2, 3], [500, 300, 150, 50])
    np.random.default_rng(0).shuffle(labels)
    train, val, test = kdata.split_indices(labels, 0.2, 0.1, seed=7)
    assert len(val) == 200 and len(test) == 100 and len(train) == 700
    assert len(np.intersect1d(train, val)) == 0 and len(np.intersect1d(val, test)) == 0
    assert len(np.union1d(np.union1d(train, val), test)) == 1000
    share = np.bincount(labels) / len(labels)
    for part, size in ((train, 700), (val, 200), (test, 100)):
        counts = np.bincount(labels[part], minlength=4)
        # Each class within one example of its exact share.
        assert np.all(np.abs(counts - share * size) <= 1), counts


def test_split_is_seeded():
    labels = np.arange(100) % 3
    a = kdata.split_indices(labels, 0.3, seed=1)
    b = kdata.split_indices(labels, 0.3, seed=1)
    c = kdata.split_indices(labels, 0.3, seed=2)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[1], c[1])


def test_small_classes_keep_a_training_example():
    labels = np.array([0] * 20 + [1] * 2 + [2])
    train, val, _ = kdata.split_indices(labels, 0.5, seed=0)
    assert set(labels[train]) == {0, 1, 2}
    # The single class-2 example stays in train; its share goes to the others.
    assert len(val) == 12 and abs(np.sum(labels[val] == 0) - 10) <= 1


def test_multilabel_split_keeps_rare_labels_everywhere():
    rng = np.random.default_rng(0)
    labels = (rng.random((400, 5)) < [0.5, 0.4, 0.3, 0.2, 0.05]).astype(np.float32)
    train, val, test = kdata.split_indices(labels, 0.2, 0.2, seed=0)
    for part in (train, val, test):
        assert labels[part][:, 4].sum() > 0


def test_split_arrays_like_sklearn():
    x = np.arange(50)[:, None, None, None] * np.ones((50, 2, 2, 1))
    y = np.arange(50) % 2
    (x_tr, y_tr), (x_val, y_val), (x_te, y_te) = kdata.split(x, y, 0.2, 0.2, seed=0)
    assert len(x_tr) == 30 and len(x_val) == 10 and len(x_te) == 10
    assert np.array_equal(x_val[:, 0, 0, 0].astype(int) % 2, y_val)
    assert np.bincount(y_val).tolist() == [5, 5]
    assert len(kdata.split(x, y, 0.2)) == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"validation_split": 1.2}, "fraction in"),
        ({"validation_split": 0.6, "test_split": 0.4}, "leaves nothing"),
        ({"validation_split": "0.2"}, "fraction in"),
    ],
)
def test_bad_fractions(kwargs, message):
    with pytest.raises(KerasftError, match=message):
        kdata.split_indices(np.arange(10) % 2, **kwargs)


def test_class_weights_match_sklearn_balanced():
    labels = np.repeat([0, 1, 2, 3], [70, 20, 9, 1])
    ours = kdata.class_weights(labels)
    theirs = compute_class_weight("balanced", classes=np.arange(4), y=labels)
    assert list(ours) == [0, 1, 2, 3]
    assert np.allclose([ours[i] for i in range(4)], theirs)
    # One-hot rows, (N, 1) columns and count mappings give the same weights.
    assert kdata.class_weights(np.eye(4)[labels]) == ours
    assert kdata.class_weights(labels[:, None]) == ours
    assert kdata.class_weights({0: 70, 1: 20, 2: 9, 3: 1}) == pytest.approx(ours)


def test_class_weights_absent_classes_and_errors():
    weights = kdata.class_weights([0, 0, 1], num_classes=4)
    assert weights[2] == weights[3] == 1.0
    assert weights[0] == pytest.approx(3 / (2 * 2))
    with pytest.raises(KerasftError, match="NaN"):
        kdata.class_weights([0.0, float("nan")])
    with pytest.raises(KerasftError, match="multi-hot"):
        kdata.class_weights(np.array([[1, 1], [0, 1]]))
    with pytest.raises(KerasftError, match="num_classes=2"):
        kdata.class_weights([0, 3], num_classes=2)


def test_class_weights_from_info_use_the_training_split():
    x = np.zeros((100, 4, 4, 1), np.uint8)
    y = np.repeat([0, 1], [80, 20])
    data = kdata.from_arrays(x, y, validation_split=0.2, seed=0)
    train_counts = data.info.split_counts["train"]
    assert train_counts == {"0": 64, "1": 16}
    assert data.class_weights() == pytest.approx({0: 80 / (2 * 64), 1: 80 / (2 * 16)})
