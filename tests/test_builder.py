"""The builder: raw images in, plain Keras model out, clear errors for bad input."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import kerasft as kft
from kerasft.errors import KerasftError


@pytest.mark.parametrize(
    "input_shape, task, classes, out",
    [
        ((28, 28), "multiclass", 10, 10),
        ((28, 28, 1), "binary", 1, 1),
        ((40, 30, 4), "multilabel", 5, 5),
        ((None, None, 3), "regression", 2, 2),
    ],
)
def test_inputs_and_tasks(input_shape, task, classes, out):
    model = kft.build(
        "mobilenet", classes, task=task, input_shape=input_shape, image_size=32, weights=None
    )
    shape = tuple(s or 48 for s in input_shape)
    x = np.random.default_rng(0).integers(0, 256, (2, *shape)).astype("uint8")
    y = model.predict(x, verbose=0)
    assert y.shape == (2, out)
    if task == "multiclass":
        np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-5)
    if task in ("binary", "multilabel"):
        assert ((y >= 0) & (y <= 1)).all()


def test_grayscale_is_repeated_and_preprocessing_matches_keras(imagenet_mobilenet):
    gray = np.random.default_rng(1).integers(0, 256, (2, 32, 32, 1)).astype("float32")
    model = kft.build("mobilenet", 3, input_shape=(32, 32, 1), image_size=32)
    backbone = kft.get_backbone(model)
    features = keras.Model(model.input, model.get_layer("kft_head_pool").input)(gray)
    rgb = np.repeat(gray, 3, axis=-1)
    expected = backbone(keras.applications.mobilenet.preprocess_input(rgb))
    np.testing.assert_allclose(features, expected, atol=1e-5)


def test_caffe_preprocessing_flips_to_bgr():
    model = kft.build("vgg16", 2, input_shape=(32, 32, 3), image_size=32, weights=None)
    x = np.random.default_rng(2).uniform(0, 255, (1, 32, 32, 3)).astype("float32")
    backbone = kft.get_backbone(model)
    got = keras.Model(model.input, model.get_layer("kft_head_pool").input)(x)
    expected = backbone(keras.applications.vgg16.preprocess_input(x.copy()))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-3)


def test_augmentation_only_in_training():
    model = kft.build(
        "mobilenet",
        2,
        input_shape=(32, 32, 3),
        image_size=32,
        weights=None,
        augmentation=[keras.layers.RandomFlip("horizontal", seed=1)],
        dropout=0.0,
    )
    x = np.random.default_rng(3).uniform(0, 255, (4, 32, 32, 3)).astype("float32")
    a, b = model(x, training=False), model(x, training=False)
    np.testing.assert_array_equal(a, b)
    seen = keras.Model(model.input, model.get_layer("kft_preprocess_scale").input)
    np.testing.assert_array_equal(seen(x, training=False), x)
    outs = [seen(x, training=True).numpy() for _ in range(6)]
    assert any(not np.array_equal(o, x) for o in outs)


def test_saved_model_reloads_in_plain_keras_without_kerasft(tmp_path, imagenet_mobilenet):
    model = kft.build("mobilenet", 10, input_shape=(28, 28, 1), image_size=64, hidden_units=(16,))
    kft.unfreeze(model, blocks=1)
    kft.compile(model, lr=1e-3)
    x = np.random.default_rng(4).integers(0, 256, (8, 28, 28, 1)).astype("uint8")
    path = tmp_path / "model.keras"
    model.save(path)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "expected.npy", model.predict(x, verbose=0))
    script = textwrap.dedent(
        f"""
        import sys, numpy as np, keras
        model = keras.models.load_model({str(path)!r})
        x = np.load({str(tmp_path / "x.npy")!r})
        got = model.predict(x, verbose=0)
        # training=True must not move BatchNorm statistics: the backbone runs in inference mode.
        model(x, training=True)
        again = model.predict(x, verbose=0)
        assert "kerasft" not in sys.modules, "kerasft was imported"
        np.testing.assert_array_equal(got, np.load({str(tmp_path / "expected.npy")!r}))
        np.testing.assert_array_equal(got, again)
        print("RELOAD-OK")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert "RELOAD-OK" in result.stdout, result.stderr[-3000:]


def test_bad_input_errors_name_the_value_and_fix(tmp_path):
    with pytest.raises(KerasftError, match=r"num_classes=0.*at least one"):
        kft.build("mobilenet", 0, weights=None)
    with pytest.raises(KerasftError, match=r"image_size=16 is below 'mobilenet'.*32"):
        kft.build("mobilenet", 2, image_size=16, weights=None)
    with pytest.raises(KerasftError, match=r"image_size=64 is below 'xception'.*71"):
        kft.build("xception", 2, image_size=64, weights=None)
    with pytest.raises(KerasftError, match=r"input_shape=\(2, 28, 28, 1\) has rank 4"):
        kft.build("mobilenet", 2, input_shape=(2, 28, 28, 1), weights=None)
    with pytest.raises(KerasftError, match="Unknown backbone 'mobilenett'"):
        kft.build("mobilenett", 2)
    with pytest.raises(KerasftError, match="Unknown task 'multi'"):
        kft.build("mobilenet", 2, task="multi", weights=None)
    other = kft.get_backbone(kft.build("mobilenet_v2", 2, input_shape=(32, 32, 3), weights=None))
    path = tmp_path / "v2.weights.h5"
    other.save_weights(path)
    with pytest.raises(
        KerasftError, match=r"does not fit backbone 'mobilenet'.*another architecture"
    ):
        kft.build("mobilenet", 2, input_shape=(32, 32, 3), image_size=32, weights=path)
    with pytest.raises(KerasftError, match="no such file"):
        kft.build("mobilenet", 2, weights=tmp_path / "missing.h5")


def test_weights_from_a_file_of_the_same_backbone(tmp_path):
    source = kft.build("mobilenet", 2, input_shape=(32, 32, 3), weights=None)
    path = tmp_path / "mobilenet.weights.h5"
    kft.get_backbone(source).save_weights(path)
    copy = kft.build("mobilenet", 2, input_shape=(32, 32, 3), weights=path)
    for a, b in zip(kft.get_backbone(source).weights, kft.get_backbone(copy).weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
