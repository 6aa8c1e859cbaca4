"""Bring-your-own backbones of any channel count: the images are adapted to what the backbone takes."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import kerasft as kft
from kerasft.errors import KerasftError


def user_backbone(channels: int, name: str | None = None) -> keras.Model:
    """A small real conv backbone taking 32 x 32 images of `channels` channels."""
    inputs = keras.Input((32, 32, channels))
    x = keras.layers.Rescaling(1 / 255.0)(inputs)
    x = keras.layers.Conv2D(16, 3, strides=2, activation="relu", name="conv_1")(x)
    x = keras.layers.Conv2D(32, 3, strides=2, activation="relu", name="conv_2")(x)
    x = keras.layers.Conv2D(32, 3, activation="relu", name="conv_3")(x)
    return keras.Model(inputs, x, name=name or f"gray_net_{channels}")


@pytest.fixture(scope="module")
def fashion():
    """512 Fashion-MNIST images (28 x 28 grayscale) of three classes, and 64 test images."""
    (x, y), (x_test, y_test), _ = kft.data.load_arrays("fashion_mnist")
    keep, keep_test = np.isin(y, [0, 1, 7]), np.isin(y_test, [0, 1, 7])
    relabel = np.vectorize({0: 0, 1: 1, 7: 2}.get)
    return (x[keep][:512], relabel(y[keep][:512])), x_test[keep_test][:64]


class Snapshots(keras.callbacks.Callback):
    """The values of some layers' weights at the start and end of each phase's `fit`."""

    def __init__(self, layers):
        super().__init__()
        self.layers, self.phases = layers, []

    def _values(self):
        return {layer.name: [np.array(w) for w in layer.get_weights()] for layer in self.layers}

    def on_train_begin(self, logs=None):
        self.phases.append([self._values()])

    def on_train_end(self, logs=None):
        self.phases[-1].append(self._values())

    def changed(self, phase: int, name: str) -> bool:
        before, after = self.phases[phase][0][name], self.phases[phase][1][name]
        return any(not np.array_equal(a, b) for a, b in zip(before, after, strict=True))


@pytest.mark.parametrize("rgb", [False, True], ids=["gray_data", "rgb_data"])
def test_one_channel_backbone_fine_tunes_on_grayscale_and_rgb_data(fashion, rgb, tmp_path):
    (x, y), x_test = fashion
    if rgb:  # the same images as RGB: the adapter's luminance gives the gray value back
        x, x_test = np.repeat(x[..., None], 3, -1), np.repeat(x_test[..., None], 3, -1)
    keras.utils.set_random_seed(0)
    backbone = user_backbone(1)
    model = kft.build(backbone, 3, input_shape=x.shape[1:])
    assert kft.get_backbone(model) is backbone
    has_adapter = any(layer.name == "kft_channels" for layer in model.layers)
    assert has_adapter == rgb  # grayscale passes straight through

    head = model.get_layer("kft_head_output")
    convs = [backbone.get_layer(f"conv_{i}") for i in (1, 2, 3)]
    snaps = Snapshots([head, *convs])
    kft.fine_tune(model, (x, y), epochs=(1, 1), batch_size=64, callbacks=[snaps], verbose=0)
    assert len(snaps.phases) == 2
    assert snaps.changed(0, head.name)  # phase 1 trains the head ...
    assert not any(snaps.changed(0, c.name) for c in convs)  # ... with the backbone frozen
    assert all(snaps.changed(1, c.name) for c in convs)  # phase 2 trains the backbone
    if rgb:
        assert not model.get_layer("kft_channels").trainable  # the fixed projection stays

    probs = model.predict(x_test, verbose=0)
    assert probs.shape == (64, 3) and np.isfinite(probs).all()
    model.save(tmp_path / "m.keras")
    reloaded = keras.models.load_model(tmp_path / "m.keras")  # plain Keras, no custom objects
    np.testing.assert_allclose(reloaded.predict(x_test, verbose=0), probs, rtol=1e-5, atol=1e-6)


def test_rgb_and_rgba_become_luminance_for_a_one_channel_backbone():
    model = kft.build(user_backbone(1), 2, input_shape=(32, 32, 3))
    adapter = model.get_layer("kft_channels")
    pixels = np.array([[[[255.0, 0.0, 0.0], [10.0, 20.0, 30.0], [255.0, 255.0, 255.0]]]])
    gray = np.asarray(adapter(pixels))[0, 0, :, 0]
    # ITU-R 601: 0.299 R + 0.587 G + 0.114 B.
    np.testing.assert_allclose(gray, [76.245, 18.15, 255.0], rtol=1e-5)

    rgba = kft.build(user_backbone(1, "gray_rgba"), 2, input_shape=(32, 32, 4))
    with_alpha = np.array([[[[10.0, 20.0, 30.0, 0.0], [10.0, 20.0, 30.0, 255.0]]]])
    out = np.asarray(rgba.get_layer("kft_channels")(with_alpha))[0, 0, :, 0]
    np.testing.assert_allclose(out, [18.15, 18.15], rtol=1e-5)  # alpha is dropped


def test_channel_pairs_without_a_standard_conversion_fail_at_build_naming_both_shapes():
    four = user_backbone(4)
    with pytest.raises(KerasftError) as err:
        kft.build(four, 2, input_shape=(32, 32, 3))
    message = str(err.value)
    assert "input_shape=(32, 32, 3)" in message and "(None, 32, 32, 4)" in message
    assert "input_shape=(H, W, 4)" in message and "adapter" in message  # the fixes
    with pytest.raises(KerasftError, match=r"\(None, 32, 32, 4\)"):
        kft.build(four, 2, input_shape=(32, 32, 1))
    with pytest.raises(KerasftError, match=r"\(None, 32, 32, 6\)"):
        kft.build(user_backbone(6), 2, input_shape=(32, 32, 3))
    # Registered keras.applications backbones still take RGB.
    with pytest.raises(KerasftError, match=r"6 channel.*\(None, 32, 32, 3\)"):
        kft.build("mobilenet", 2, input_shape=(32, 32, 6), image_size=32, weights=None)
    # Mean/std preprocessing is defined for RGB only.
    with pytest.raises(KerasftError, match="preprocessing='caffe'.*'tf' or 'none'"):
        kft.build(user_backbone(1), 2, input_shape=(32, 32, 1), preprocessing="caffe")
    with pytest.raises(KerasftError, match="no channel count"):
        kft.build(user_backbone(1), 2, input_shape=(32, 32, None))


def test_multispectral_data_into_a_backbone_of_the_same_channels():
    keras.utils.set_random_seed(0)
    backbone = user_backbone(6)
    model = kft.build(backbone, 2, input_shape=(32, 32, 6))
    assert "kft_channels" not in [layer.name for layer in model.layers]  # identity
    x = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 6)).astype("float32")
    features = keras.Model(model.input, model.get_layer("kft_head_pool").input)(x)
    np.testing.assert_allclose(features, backbone(x), rtol=1e-5, atol=1e-6)
    assert model.predict(x, verbose=0).shape == (2, 2)
