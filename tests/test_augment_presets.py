"""Augmentation presets: Keras layers, in the model (inactive at inference) or the pipeline."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerasft as kft
import kerasft.augment as kaug
from kerasft.errors import KerasftError


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(0)
    # Smooth images (not noise), so geometric transforms visibly move content.
    base = np.linspace(0, 255, 24, dtype=np.float32)
    image = (base[:, None] * 0.5 + base[None, :] * 0.5)[..., None] * np.ones((1, 1, 3))
    return np.stack([np.roll(image, int(s), axis=1) for s in rng.integers(0, 24, 4)]).astype(
        np.float32
    )


def test_keras_has_the_layers_presets_use():
    for name in ("RandomErasing", "RandAugment", "MixUp", "CutMix", "RandomBrightness"):
        assert hasattr(keras.layers, name), name


@pytest.mark.parametrize("name", ["light", "medium", "heavy", "randaugment"])
def test_presets_are_keras_layers_that_change_images_in_training_only(name, batch):
    layers = kaug.preset(name, seed=1)
    assert layers and all(isinstance(layer, keras.layers.Layer) for layer in layers)
    x = batch
    trained = x
    for layer in layers:
        trained = layer(trained, training=True)
    inferred = x
    for layer in layers:
        inferred = layer(inferred, training=False)
    assert not np.allclose(np.asarray(trained), x)
    assert np.allclose(np.asarray(inferred), x)
    assert np.asarray(trained).min() >= 0 and np.asarray(trained).max() <= 255.001


def test_none_and_resolve():
    assert kaug.preset("none") == []
    assert kaug.resolve(None) == []
    flip = keras.layers.RandomFlip()
    assert kaug.resolve(flip) == [flip]
    assert kaug.resolve([flip]) == [flip]
    assert [type(a).__name__ for a in kaug.resolve("Light")] == [
        "RandomFlip",
        "RandomRotation",
        "RandomZoom",
    ]
    with pytest.raises(KerasftError, match="Keras layers"):
        kaug.resolve([flip, "medium"])
    with pytest.raises(KerasftError, match="preset name"):
        kaug.resolve(3)


def test_unknown_preset_names_close_matches():
    with pytest.raises(KerasftError, match="Did you mean 'medium'") as error:
        kaug.preset("meduim")
    assert "randaugment" in str(error.value)
    with pytest.raises(KerasftError, match="Did you mean 'randaugment'"):
        kaug.preset("rand_augmnt")


def test_seeded_presets_repeat():
    x = np.random.default_rng(3).uniform(0, 255, (2, 16, 16, 3)).astype(np.float32)

    def run():
        out = x
        for layer in kaug.preset("medium", seed=11):
            out = layer(out, training=True)
        return np.asarray(out)

    assert np.array_equal(run(), run())


def test_preset_inside_a_model_is_inactive_at_inference(batch, tmp_path):
    inputs = keras.Input((24, 24, 3))
    x = inputs
    for layer in kaug.preset("heavy", seed=0):
        x = layer(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(3, kernel_initializer="ones")(x)
    model = keras.Model(inputs, outputs)
    first = model(batch, training=False).numpy()
    assert np.array_equal(first, model(batch, training=False).numpy())
    assert not np.allclose(first, model(batch, training=True).numpy())
    # Exported with the model, and still inactive at inference after reloading.
    path = tmp_path / "augmented.keras"
    model.save(path)
    reloaded = keras.models.load_model(path)
    assert np.allclose(reloaded(batch, training=False).numpy(), first, atol=1e-4)
    assert any(type(layer).__name__ == "RandomErasing" for layer in reloaded.layers)


def test_apply_on_a_dataset(batch):
    labels = np.arange(4)
    ds = tf.data.Dataset.from_tensor_slices((batch.astype(np.uint8), labels)).batch(2)
    out = kaug.apply(ds, "medium", seed=0, deterministic=True)
    images = np.concatenate([x.numpy() for x, _ in out])
    assert images.dtype == np.float32 and images.shape == batch.shape
    assert not np.allclose(images, batch.astype(np.uint8))
    assert np.concatenate([y.numpy() for _, y in out]).tolist() == [0, 1, 2, 3]
    assert kaug.apply(ds, "none") is ds
    unbatched = kaug.apply(tf.data.Dataset.from_tensor_slices((batch, labels)), "light")
    assert next(iter(unbatched))[0].shape == (24, 24, 3)


def test_preset_name_in_kft_build(batch):
    model = kft.build("mobilenet", num_classes=3, weights=None, augmentation="medium",
                      input_shape=(24, 24, 3))  # fmt: skip
    last = model.get_layer("aug_brightness")
    augmented = keras.Model(model.input, last.output)
    first = augmented(batch, training=False).numpy()
    assert np.array_equal(first, augmented(batch, training=False).numpy())
    assert not np.allclose(first, augmented(batch, training=True).numpy())
