"""from_arrays, from_dataframe, from_csv and label validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sklearn.datasets import load_digits

import kerasft.data as kdata
from kerasft.data.labels import encode_labels
from kerasft.errors import KerasftError


@pytest.fixture(scope="module")
def digits():
    bunch = load_digits()
    x = (bunch.images[:200] * 255 / 16).astype(np.uint8)  # (200, 8, 8) grayscale
    return x, bunch.target[:200]


def _collect(dataset):
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in dataset], strict=True)
    return np.concatenate(xs), np.concatenate(ys)


def test_from_arrays_keeps_pixels_and_labels(digits):
    x, y = digits
    data = kdata.from_arrays(x, y, batch_size=64, shuffle=False)
    images, labels = _collect(data.train)
    assert images.shape == (200, 8, 8, 1) and images.dtype == np.uint8
    assert np.array_equal(images[..., 0], x) and np.array_equal(labels, y)
    assert data.info.num_classes == 10 and data.info.channels == 1
    assert data.info.image_size == (8, 8) and data.info.num_examples == 200


def test_from_arrays_resizes_to_rgb_and_holds_out_test(digits):
    x, y = digits
    data = kdata.from_arrays(
        x[:150],
        y[:150],
        image_size=16,
        channels=3,
        validation_split=0.2,
        test_data=(x[150:], y[150:]),
        label_mode="categorical",
        batch_size=50,
    )
    images, labels = _collect(data.train)
    assert images.shape == (120, 16, 16, 3) and images.dtype == np.uint8
    assert labels.shape == (120, 10) and np.allclose(labels.sum(axis=1), 1)
    assert np.array_equal(images[..., 0], images[..., 1])
    test_images, test_labels = _collect(data.test)
    assert len(test_images) == 50 and np.array_equal(test_labels.argmax(1), y[150:])
    assert sum(data.info.split_counts["val"].values()) == 30
    assert data.info.input_shape == (16, 16, 3)


def test_string_labels_become_sorted_classes():
    x = np.zeros((4, 4, 4, 3), np.uint8)
    data = kdata.from_arrays(x, ["dog", "cat", "dog", "cat"], shuffle=False)
    assert data.info.class_names == ["cat", "dog"]
    assert _collect(data.train)[1].tolist() == [1, 0, 1, 0]


@pytest.mark.parametrize(
    ("y", "num_classes", "message"),
    [
        ([0, 1, 2, 5], 3, r"in \[0, 3\).*\[5\] at positions \[3\]"),
        ([0, 1, float("nan"), 1], None, "NaN"),
        ([0, 1, 1.5, 0], None, "whole class indices"),
        ([0, 1, -1, 0], None, r"\[-1\]"),
        ([0, 1, 1], None, "got 4 images but 3 labels"),
    ],
)
def test_bad_labels_are_clear_errors(y, num_classes, message):
    x = np.zeros((4, 4, 4, 3), np.uint8)
    with pytest.raises(KerasftError, match=message):
        kdata.from_arrays(x, y, num_classes=num_classes)


@pytest.mark.parametrize("shape", [(4, 8), (4, 8, 8, 2), (2, 4, 8, 8, 3)])
def test_bad_image_rank_is_a_clear_error(shape):
    with pytest.raises(KerasftError, match="must be images of shape"):
        kdata.from_arrays(np.zeros(shape, np.uint8), np.zeros(shape[0], int))


def test_other_array_errors():
    x = np.zeros((4, 4, 4, 3), np.uint8)
    with pytest.raises(KerasftError, match="at least two classes"):
        kdata.from_arrays(x, [0, 0, 0, 0])
    with pytest.raises(KerasftError, match="0..255"):
        kdata.from_arrays(x.astype(np.int32) + 300, [0, 1, 0, 1])
    with pytest.raises(KerasftError, match="NaN or infinite pixel"):
        kdata.from_arrays(np.full((4, 4, 4, 3), np.nan), [0, 1, 0, 1])
    with pytest.warns(UserWarning, match="floats in \\[0, 1\\]"):
        kdata.from_arrays(x.astype(np.float32), [0, 1, 0, 1])
    with pytest.raises(KerasftError, match="batch_size"):
        kdata.from_arrays(x, [0, 1, 0, 1], batch_size=0)
    with pytest.raises(KerasftError, match="Unknown label_mode 'onehot'"):
        kdata.from_arrays(x, [0, 1, 0, 1], label_mode="onehot")


def test_encode_labels_handles_one_hot_and_multi_hot():
    indices, names, multilabel = encode_labels(np.eye(3)[[2, 0, 1]])
    assert indices.tolist() == [2, 0, 1] and names == ["0", "1", "2"] and not multilabel
    multi, _, multilabel = encode_labels(np.array([[1, 1, 0], [0, 0, 1]]))
    assert multilabel and multi.dtype == np.float32 and multi.tolist() == [[1, 1, 0], [0, 0, 1]]
    tags, names, multilabel = encode_labels(["cat|dog", "dog", ""], sep="|")
    assert multilabel and names == ["cat", "dog"] and tags.tolist() == [[1, 1], [0, 1], [0, 0]]
    with pytest.raises(KerasftError, match="only 0 and 1"):
        encode_labels(np.array([[0.5, 0.5]]))
    with pytest.raises(KerasftError, match="not among class_names"):
        encode_labels(["cat", "cow"], class_names=["cat", "dog"])


def test_multilabel_arrays_yield_multi_hot():
    x = np.zeros((6, 4, 4, 3), np.uint8)
    y = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1], [1, 0, 0], [0, 1, 1]])
    data = kdata.from_arrays(x, y, shuffle=False, validation_split=0.34)
    assert data.info.multilabel
    _, labels = _collect(data.train)
    assert labels.dtype == np.float32 and labels.shape[1] == 3
    with pytest.raises(KerasftError, match="multilabel"):
        kdata.class_weights(data.info)


def test_from_dataframe_pixel_columns(digits):
    x, y = digits
    frame = pd.DataFrame(x.reshape(len(x), -1), columns=[f"pixel{i}" for i in range(64)])
    frame.insert(0, "label", y)
    data = kdata.from_dataframe(frame, label_col="label", shuffle=False, batch_size=100)
    images, labels = _collect(data.train)
    assert images.shape == (200, 8, 8, 1) and np.array_equal(images[..., 0], x)
    assert np.array_equal(labels, y) and data.info.source == "dataframe"
    with pytest.raises(KerasftError, match="Did you mean 'label'"):
        kdata.from_dataframe(frame, label_col="labels")
    with pytest.raises(KerasftError, match="cannot tell the image shape"):
        kdata.from_dataframe(frame.iloc[:, :11])
    bad = frame.copy()
    bad["label"] = bad["label"].astype(float)
    bad.loc[3, "label"] = np.nan
    with pytest.raises(KerasftError, match="NaN"):
        kdata.from_dataframe(bad)


def test_from_dataframe_image_column(digits):
    x, y = digits
    frame = pd.DataFrame({"image": list(x[:20]), "kind": [f"k{v % 2}" for v in y[:20]]})
    data = kdata.from_dataframe(frame, label_col="kind", image_col="image", shuffle=False)
    images, labels = _collect(data.train)
    assert images.shape == (20, 8, 8, 1) and data.info.class_names == ["k0", "k1"]
    assert np.array_equal(labels, y[:20] % 2)


@pytest.fixture(scope="module")
def listed(tmp_path_factory, digits):
    x, y = digits
    root = tmp_path_factory.mktemp("csv")
    (root / "img").mkdir()
    rows = []
    for i in range(12):
        Image.fromarray(x[i]).resize((16, 16)).save(root / f"img/{i}.png")
        tags = ["even" if y[i] % 2 == 0 else "odd"] + (["small"] if y[i] < 5 else [])
        rows.append({"file": f"img/{i}.png", "digit": int(y[i]) % 3, "tags": "|".join(tags)})
    rows.append({"file": "img/missing.png", "digit": 0, "tags": "even"})
    frame = pd.DataFrame(rows)
    frame.to_csv(root / "labels.csv", index=False)
    return root, frame


def test_from_csv_reads_paths_and_skips_missing(listed):
    root, frame = listed
    with pytest.warns(kdata.SkippedFilesWarning, match="skipped 1"):
        data = kdata.from_csv(
            root / "labels.csv", path_col="file", label_col="digit", shuffle=False
        )
    assert list(data.info.skipped) == [str(root / "img/missing.png")]
    assert data.info.class_names == ["0", "1", "2"]
    images, labels = _collect(data.train)
    assert images.shape == (12, 16, 16, 3)
    assert labels.tolist() == frame["digit"][:12].tolist()


def test_from_csv_multilabel_with_separator(listed):
    root, frame = listed
    with pytest.warns(kdata.SkippedFilesWarning):
        data = kdata.from_csv(
            frame, path_col="file", label_col="tags", label_sep="|", root=root, shuffle=False
        )
    assert data.info.multilabel and data.info.class_names == ["even", "odd", "small"]
    _, labels = _collect(data.train)
    expected = [
        [t in row.split("|") for t in ("even", "odd", "small")] for row in frame["tags"][:12]
    ]
    assert labels.tolist() == np.array(expected, dtype=np.float32).tolist()
    assert data.info.class_counts["small"] == int(np.sum(np.array(expected)[:, 2]))


def test_from_csv_errors(listed, tmp_path):
    root, frame = listed
    with pytest.raises(KerasftError, match="Did you mean 'file'"):
        kdata.from_csv(frame, path_col="files", label_col="digit", root=root)
    with pytest.raises(KerasftError, match="does not exist"):
        kdata.from_csv(tmp_path / "none.csv")
    blank = frame.copy()
    blank.loc[2, "digit"] = np.nan
    with pytest.raises(KerasftError, match=r"empty or NaN in row\(s\) \[3\]"):
        kdata.from_csv(blank, path_col="file", label_col="digit", root=root)


def test_dataset_info_round_trips_through_json(digits):
    import json

    x, y = digits
    info = kdata.from_arrays(x, y, image_size=12, channels=3, validation_split=0.1).info
    restored = kdata.DatasetInfo.from_config(json.loads(json.dumps(info.get_config())))
    assert restored == info
    assert restored.input_shape == (12, 12, 3) and restored.num_classes == 10
    text = str(info)
    assert "200 examples, 10 classes" in text and "val: 20" in text
