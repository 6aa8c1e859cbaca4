"""MixUp and CutMix on batched datasets: soft labels that sum to 1, convex image mixes."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

import kerasft.augment as kaug
from kerasft.errors import KerasftError

BATCH = 8


def _constant_images():
    # Image i is filled with the value 10 * (i + 1), and is the only example of class i.
    values = (np.arange(BATCH, dtype=np.float32) + 1) * 10
    images = values[:, None, None, None] * np.ones((BATCH, 12, 12, 3), np.float32)
    return images, values


def _dataset(labels):
    images, _ = _constant_images()
    return tf.data.Dataset.from_tensor_slices((images, labels)).batch(BATCH)


def test_mixup_images_are_the_convex_mix_the_labels_say():
    _, values = _constant_images()
    ds = kaug.mix(_dataset(np.arange(BATCH)), "mixup", num_classes=BATCH, alpha=0.4, seed=3)
    images, labels = next(iter(ds))
    images, labels = images.numpy(), labels.numpy()
    assert labels.shape == (BATCH, BATCH) and labels.dtype == np.float32
    assert np.allclose(labels.sum(axis=1), 1.0, atol=1e-5)
    assert np.all(labels >= 0)
    # Each image is sum_j label[j] * value_j: a convex mix with the labels' own weights.
    expected = labels @ values
    assert np.allclose(images[:, 0, 0, 0], expected, atol=1e-3)
    assert np.allclose(images, images[:, :1, :1, :1], atol=1e-3)  # uniform: a pure blend
    assert (labels.max(axis=1) < 0.999).any(), "MixUp should mix at least one pair"


def test_cutmix_pastes_patches_and_labels_match_the_area():
    _, values = _constant_images()
    ds = kaug.mix(_dataset(np.arange(BATCH)), "cutmix", num_classes=BATCH, seed=1)
    images, labels = next(iter(ds))
    images, labels = images.numpy(), labels.numpy()
    assert np.allclose(labels.sum(axis=1), 1.0, atol=1e-5)
    for i in range(BATCH):
        pixels = images[i, ..., 0]
        # Every pixel comes whole from one of the two images: none is blended.
        assert set(np.unique(pixels)).issubset(set(values.tolist()))
        for j, value in enumerate(values):
            share = np.mean(pixels == value)
            assert abs(share - labels[i, j]) < 0.1, (i, j, share, labels[i, j])
    assert (labels.max(axis=1) < 0.999).any(), "CutMix should paste at least one patch"


def test_one_hot_labels_pass_through_and_errors():
    ds = kaug.mix(_dataset(np.eye(BATCH, dtype=np.float32)), "mixup", seed=0)
    assert next(iter(ds))[1].shape == (BATCH, BATCH)
    with pytest.raises(KerasftError, match="num_classes"):
        kaug.mix(_dataset(np.arange(BATCH)), "mixup")
    with pytest.raises(KerasftError, match="Did you mean 'cutmix'"):
        kaug.mix(_dataset(np.arange(BATCH)), "cut_mix", num_classes=BATCH)
    with pytest.raises(KerasftError, match="batched"):
        kaug.mix(_dataset(np.arange(BATCH)).unbatch(), "mixup", num_classes=BATCH)
    with pytest.raises(KerasftError, match=r"\(0, 1\]"):
        kaug.mix_layer("cutmix", alpha=2.0)
