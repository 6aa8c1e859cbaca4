"""Test-time augmentation really averages over its views."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerasft.evaluation as ev
from kerasft.errors import KerasftError
from kerasft.evaluation import TestTimeAugmentation


@pytest.fixture(scope="module")
def asymmetric_model():
    """A dense net on raw pixels: its output changes when the image is mirrored or shifted."""
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(4, activation="softmax"),
        ]
    )


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).random((10, 8, 8, 1)).astype("float32")


def test_flip_tta_equals_manual_average_and_is_flip_invariant(asymmetric_model, images):
    flip_only = TestTimeAugmentation(flip=True, shifts=())
    plain = asymmetric_model.predict(images, verbose=0)
    mirrored = asymmetric_model.predict(images[:, :, ::-1], verbose=0)
    assert np.abs(plain - mirrored).max() > 1e-3  # the check means something
    tta = ev.predict(asymmetric_model, images, tta=flip_only, batch_size=4)
    np.testing.assert_allclose(tta, (plain + mirrored) / 2, atol=1e-6)
    # Averaging over a flip makes the prediction of an image and of its mirror the same.
    tta_mirrored = ev.predict(asymmetric_model, images[:, :, ::-1].copy(), tta=flip_only)
    np.testing.assert_allclose(tta, tta_mirrored, atol=1e-6)


def test_shift_moves_content_and_repeats_edges():
    img = np.zeros((1, 16, 16, 1), np.float32)
    img[0, 5, 7, 0] = 1.0
    down_right = TestTimeAugmentation.shift(img, 0.125, 0.125)  # 2 pixels each way
    assert down_right.shape == img.shape
    assert down_right[0, 7, 9, 0] == 1.0 and down_right.sum() == 1.0
    up_left = TestTimeAugmentation.shift(img, -0.125, 0.0)
    assert up_left[0, 3, 7, 0] == 1.0
    ramp = np.tile(np.arange(16, dtype=np.float32), (1, 16, 1))[..., None]  # value = column
    shifted = TestTimeAugmentation.shift(ramp, 0.0, 0.125)
    np.testing.assert_array_equal(shifted[0, 0, :, 0], [0, 0, 0, *range(1, 14)])


def test_default_tta_averages_all_views(asymmetric_model, images):
    tta = TestTimeAugmentation()
    views = tta.views(images)
    assert len(views) == tta.num_views == 4
    manual = np.mean([asymmetric_model.predict(v, verbose=0) for v in views], axis=0)
    np.testing.assert_allclose(ev.predict(asymmetric_model, images, tta=True), manual, atol=1e-6)
    ds = tf.data.Dataset.from_tensor_slices(images).batch(3)
    np.testing.assert_allclose(ev.predict(asymmetric_model, ds, tta=True), manual, atol=1e-6)


def test_evaluate_with_tta_uses_averaged_probabilities(asymmetric_model, images):
    y = np.arange(10) % 4
    report = ev.evaluate(asymmetric_model, (images, y), tta=True, num_top_losses=0)
    np.testing.assert_allclose(
        report.y_prob, ev.predict(asymmetric_model, images, tta=True), atol=1e-6
    )
    assert report["tta"] == TestTimeAugmentation().get_config()


def test_bad_tta_inputs(asymmetric_model):
    with pytest.raises(KerasftError, match="between -0.5 and 0.5"):
        TestTimeAugmentation(shifts=[(0.7, 0.0)])
    with pytest.raises(KerasftError, match="image batches"):
        TestTimeAugmentation().views(np.zeros((2, 8)))
    with pytest.raises(KerasftError, match="tta must be"):
        ev.predict(asymmetric_model, np.zeros((1, 8, 8, 1)), tta="flip")
    config = TestTimeAugmentation(flip=False, shifts=[(0.1, 0.0)]).get_config()
    assert TestTimeAugmentation.from_config(config).get_config() == config
