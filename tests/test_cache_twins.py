"""`with_fast_kernels`: the twins compute the same function on the same variables."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerasft as kft
from kerasft.backbones.blocks import block_map
from kerasft.cache import CachedRunner, ModelCut
from kerasft.cache.twins import FusedBatchNorm, PointwiseConv2D, with_fast_kernels


def _randomize_batchnorm(model: keras.Model, seed: int = 0) -> None:
    # Fresh BatchNorm layers normalize by (0, 1) with gamma 1, beta 0: a twin that ignored
    # any of the four would still agree. Random statistics make every one count.
    rng = np.random.default_rng(seed)
    for layer in model._flatten_layers():
        if isinstance(layer, keras.layers.BatchNormalization):
            shape = layer.gamma.shape
            layer.moving_mean.assign(rng.normal(0, 0.3, shape).astype("float32"))
            layer.moving_variance.assign(rng.uniform(0.3, 2.0, shape).astype("float32"))
            layer.gamma.assign(rng.uniform(0.5, 1.5, shape).astype("float32"))
            layer.beta.assign(rng.normal(0, 0.3, shape).astype("float32"))


@pytest.fixture(scope="module")
def mobilenet_suffix():
    """The part phase 2 of the default job trains: MobileNet blocks 8-13 + head, 64 px."""
    keras.utils.set_random_seed(0)
    model = kft.build(  # no dropout: the gradients compared are of one deterministic function
        "mobilenet", 10, input_shape=(28, 28, 1), image_size=64, weights=None, dropout=0.0
    )
    kft.freeze(model)
    kft.unfreeze(model, 6, train_bn=True)
    _randomize_batchnorm(model)
    for v in model.layers[-1].trainable_variables:  # a head that does not output uniform 0.1
        v.assign(np.random.default_rng(1).normal(0, 0.2, v.shape).astype("float32"))
    names = list(block_map(kft.get_backbone(model)))
    return ModelCut(model, after_block=names[len(names) - 7]).suffix


def _grads(model, x, y):
    with tf.GradientTape() as tape:
        out = model(x, training=True)
        loss = tf.reduce_mean(keras.losses.categorical_crossentropy(y, out))
    return out.numpy(), [g.numpy() for g in tape.gradient(loss, model.trainable_variables)]


def test_twins_replace_the_slow_layers_and_share_their_variables(mobilenet_suffix):
    fast = with_fast_kernels(mobilenet_suffix)
    kinds = [type(layer).__name__ for layer in fast._flatten_layers()]
    # MobileNet blocks 8-13: six 1x1 convolutions, twelve BatchNorms (6 depthwise + 6 pointwise).
    assert kinds.count("PointwiseConv2D") == 6
    assert kinds.count("FusedBatchNorm") == 12
    assert "DepthwiseConv2D" in kinds  # left as Keras runs it
    plain_vars = mobilenet_suffix.trainable_variables
    assert len(fast.trainable_variables) == len(plain_vars) == 38
    assert all(a is b for a, b in zip(fast.trainable_variables, plain_vars))
    assert {id(v) for v in fast.non_trainable_variables} == {
        id(v) for v in mobilenet_suffix.non_trainable_variables
    }


def test_twins_compute_the_same_outputs_and_gradients(mobilenet_suffix):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 3, (16, *mobilenet_suffix.input_shape[1:])).astype("float32")
    y = np.eye(10, dtype="float32")[np.arange(16) % 10]
    out_plain, g_plain = _grads(mobilenet_suffix, x, y)
    out_fast, g_fast = _grads(with_fast_kernels(mobilenet_suffix), x, y)
    assert out_plain.std() > 0.01  # the outputs vary: the comparison can fail
    np.testing.assert_allclose(out_fast, out_plain, atol=1e-5)
    for gp, gf in zip(g_plain, g_fast):
        assert np.abs(gp).max() > 0
        np.testing.assert_allclose(gf, gp, atol=1e-5 * np.abs(gp).max() + 1e-9, rtol=1e-3)


def test_pointwise_twin_reads_the_lora_kernel():
    inputs = keras.Input((3, 3, 8))
    conv = keras.layers.Conv2D(4, 1, use_bias=True, activation="relu")
    model = keras.Model(inputs, conv(inputs))
    conv.enable_lora(2)
    conv.lora_kernel_b.assign(np.full(conv.lora_kernel_b.shape, 0.5, "float32"))
    fast = with_fast_kernels(model)
    assert isinstance(fast.layers[1], PointwiseConv2D)
    x = np.random.default_rng(0).normal(size=(2, 3, 3, 8)).astype("float32")
    np.testing.assert_allclose(fast(x).numpy(), model(x).numpy(), atol=1e-5)
    trains = {id(v) for v in fast.trainable_variables}
    assert trains == {id(v) for v in model.trainable_variables}
    assert id(conv.lora_kernel_a) in trains and id(conv.bias) in trains
    assert id(conv._kernel) not in trains  # LoRA froze the base kernel


def test_batchnorm_twin_in_training_mode_uses_batch_statistics():
    inputs = keras.Input((4, 4, 3))
    bn = keras.layers.BatchNormalization(momentum=0.5)
    model = keras.Model(inputs, bn(inputs))
    fast = with_fast_kernels(model)
    assert isinstance(fast.layers[1], FusedBatchNorm)
    x = np.random.default_rng(0).normal(3.0, 2.0, (8, 4, 4, 3)).astype("float32")
    out = fast(x, training=True).numpy()
    np.testing.assert_allclose(out.mean(axis=(0, 1, 2)), 0, atol=1e-4)  # batch moments
    assert float(bn.moving_mean.numpy().mean()) > 1.0  # updated towards the batch mean of 3
    np.testing.assert_allclose(fast(x).numpy(), model(x).numpy(), atol=1e-5)


def test_nothing_to_replace_returns_the_model_itself():
    inputs = keras.Input((4, 4, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(2, 3, padding="same")(inputs))
    assert with_fast_kernels(model) is model
    keras.config.set_dtype_policy("mixed_float16")
    try:
        inputs = keras.Input((4, 4, 3))
        mixed = keras.Model(inputs, keras.layers.Conv2D(2, 1)(inputs))
    finally:
        keras.config.set_dtype_policy("float32")
    assert with_fast_kernels(mixed) is mixed  # mixed precision keeps Keras's casts


def test_runner_option_is_in_its_config():
    assert CachedRunner().get_config()["fast_kernels"] is True
    assert CachedRunner(fast_kernels=False).get_config()["fast_kernels"] is False
