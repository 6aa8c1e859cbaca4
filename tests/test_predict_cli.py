"""`kerasft predict` and `kft.predict_files` on real Fashion-MNIST PNG files and broken files."""

import csv
import os

import keras
import numpy as np
import pytest
from PIL import Image

import kerasft as kft
from kerasft import model_file
from kerasft.cli.main import main
from kerasft.data import SkippedFilesWarning

NUM_IMAGES = 40


def small_backbone(side):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((side, side, 3))
    x = keras.layers.Rescaling(1 / 255.0)(inputs)
    x = keras.layers.Conv2D(16, 3, strides=2, activation="relu")(x)
    x = keras.layers.Conv2D(32, 3, strides=2, activation="relu")(x)
    return keras.Model(inputs, x, name="tiny_backbone")


@pytest.fixture(scope="module")
def trained(tmp_path_factory, fashion_mnist):
    """A kft.build model (grayscale 28x28 in) trained for one short epoch, saved with its names."""
    (x_train, y_train), _, names = fashion_mnist
    model = kft.build(small_backbone(28), 10, input_shape=(28, 28, 1), dropout=0.0)
    kft.get_backbone(model).trainable = True
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train[:3000, ..., None], y_train[:3000], epochs=1, batch_size=64, verbose=0)
    path = tmp_path_factory.mktemp("model") / "fmnist.keras"
    model_file.save(model, path, class_names=names, data="keras:fashion_mnist")
    return model, path, list(names)


@pytest.fixture(scope="module")
def images(tmp_path_factory, fashion_mnist):
    """Test images as PNG files in nested folders, plus a truncated PNG, a fake JPEG and a note."""
    _, (x_test, _), _ = fashion_mnist
    root = tmp_path_factory.mktemp("photos")
    (root / "shop" / "rack").mkdir(parents=True)
    index_of = {}
    for i in range(NUM_IMAGES):
        path = root / ("shop/rack" if i % 2 else "shop") / f"item_{i:03d}.png"
        Image.fromarray(x_test[i]).save(path)
        index_of[str(path)] = i
    whole = (root / "shop" / "item_000.png").read_bytes()
    (root / "shop" / "corrupt.png").write_bytes(whole[: len(whole) // 2])
    (root / "shop" / "fake.jpg").write_text("this is text, not a JPEG")
    (root / "shop" / "notes.txt").write_text("a file without an image extension")
    broken = {str(root / "shop" / "corrupt.png"), str(root / "shop" / "fake.jpg")}
    return root, index_of, broken, x_test[:NUM_IMAGES]


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_cli_writes_top_k_rows_that_match_the_model(trained, images, tmp_path, capsys):
    model, path, names = trained
    root, index_of, broken, x = images
    out = tmp_path / "predictions.csv"
    assert main(["predict", str(path), str(root), "--top-k", "3", "--out", str(out)]) == 0
    printed = capsys.readouterr()
    rows = read_csv(out)
    assert list(rows[0]) == ["path", "top1", "p1", "top2", "p2", "top3", "p3", "error"]
    good = [r for r in rows if not r["error"]]
    bad = {r["path"]: r["error"] for r in rows if r["error"]}
    assert len(good) == NUM_IMAGES and set(r["path"] for r in good) == set(index_of)
    assert set(bad) == broken and bad[str(root / "shop" / "fake.jpg")] == "not an image file"
    assert not any(r["path"].endswith("notes.txt") for r in rows)

    expected = model.predict(x[..., None], verbose=0)
    for row in good:
        tops = [row[f"top{k}"] for k in (1, 2, 3)]
        probs = [float(row[f"p{k}"]) for k in (1, 2, 3)]
        assert set(tops) <= set(names) and len(set(tops)) == 3
        assert probs == sorted(probs, reverse=True) and sum(probs) <= 1 + 1e-5
        want = expected[index_of[row["path"]]]
        assert row["top1"] == names[int(np.argmax(want))]
        assert probs[0] == pytest.approx(float(want.max()), abs=1e-5)
    # The model is trained, so its answers are not all one class.
    assert len({r["top1"] for r in good}) >= 4
    for name in broken:
        assert name in printed.err
    assert "40 images predicted, 1 non-image files in the folders skipped" in printed.out
    assert printed.out.splitlines()[0].split() == ["path", "top1", "p1", "top2", "p2", "top3", "p3"]


def test_predict_accepts_files_and_keeps_the_array_api(trained, images):
    model, path, names = trained
    root, index_of, broken, x = images
    files = sorted(index_of)[:5] + sorted(broken)
    with pytest.warns(SkippedFilesWarning, match="corrupt.png"):
        probs = kft.predict(str(path), files, batch_size=2)
    want = model.predict(x[[index_of[f] for f in files[:5]], ..., None], verbose=0)
    np.testing.assert_allclose(probs, want, atol=1e-5)
    # One named file on its own; the array API is unchanged.
    assert kft.predict(model, files[0]).shape == (1, 10)
    assert kft.predict(model, x[:3]).shape == (3, 10)


def test_predict_files_with_tta_matches_tta_on_the_arrays(trained, images):
    model, _, names = trained
    root, index_of, _, x = images
    files = sorted(index_of)[:6]
    with pytest.warns(SkippedFilesWarning):
        result = kft.predict_files(model, [root / "shop"], top_k=20, tta=True, class_names=names)
    assert result.top_k == 10  # capped at the number of classes
    rows = {p: i for i, p in enumerate(result.paths)}
    want = kft.predict(model, x[[index_of[f] for f in files]], tta=True)
    got = result.probabilities[[rows[f] for f in files]]
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_free_size_model_takes_photos_of_any_size(tmp_path):
    """A None x None model: mixed-size photos are batched at the size recorded in its file."""
    from skimage import data as photos

    model = kft.build(small_backbone(32), 3, input_shape=(None, None, 3))
    path = tmp_path / "free.keras"
    model_file.save(model, path, class_names=["a", "b", "c"], image_size=(40, 48))
    for name in ("astronaut", "coffee", "camera"):
        Image.fromarray(getattr(photos, name)()).save(tmp_path / f"{name}.png")
    result = kft.predict_files(path, tmp_path, batch_size=2)
    assert sorted(os.path.basename(p) for p in result.paths) == [
        "astronaut.png",
        "camera.png",
        "coffee.png",
    ]
    from kerasft.data.pipeline import resize_image

    coffee = resize_image(keras.ops.convert_to_tensor(photos.coffee()), (40, 48))
    want = model.predict(np.asarray(coffee)[None], verbose=0)[0]
    got = result.probabilities[[os.path.basename(p) for p in result.paths].index("coffee.png")]
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert model_file.load(path).image_size == (40, 48)


def test_bad_input_is_a_clear_error(trained, tmp_path, capsys):
    _, path, _ = trained
    assert main(["predict", str(path), str(tmp_path / "missing")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["predict", str(path), str(tmp_path / "empty")]) == 2
    assert "no image files found" in capsys.readouterr().err
