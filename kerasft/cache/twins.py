"""`with_fast_kernels`: a cut model's trainable part with faster TensorFlow CPU kernels.

Phase 2 on cached features trains a backbone's top blocks, whose feature maps are tiny (a
MobileNet at 64 px: 4x4 and 2x2). There, TensorFlow's CPU convolution kernels for a 1x1
`Conv2D` run at a fraction of the speed of the same product as an `einsum` (measured 1.8-3.3x
slower forward on 2x2 maps, and one core idles in between), and an inference-mode
`BatchNormalization` with trainable gamma/beta becomes dozens of broadcast multiplies and
sums where TensorFlow has one fused op. `bench/cached_phase2.py` measures the difference.

`with_fast_kernels(model)` returns a functional clone of `model` in which such layers are
replaced by *twins*: layers that hold the original layer (so its variables are theirs, the
very same objects: training the twin trains the model) and compute the same function with the
faster op. Every other layer is the original object. The twin model is only ever trained, never
saved: the saved model keeps the Keras layers.
"""

from __future__ import annotations

import keras
import tensorflow as tf


class _Twin(keras.layers.Layer):
    """A layer computing `source`'s function with a different op, on `source`'s variables."""

    def __init__(self, source: keras.layers.Layer):
        super().__init__(name=source.name, dtype=source.dtype_policy)
        self.source = source  # tracked: its variables (and their trainable flags) are ours
        self.built = True

    def compute_output_shape(self, input_shape):
        return self.source.compute_output_shape(input_shape)


class PointwiseConv2D(_Twin):
    """A 1x1, stride-1 `Conv2D` as an `einsum` over the channel axis."""

    def call(self, inputs):
        conv = self.source
        kernel = keras.ops.reshape(conv.kernel, conv.kernel.shape[2:])  # LoRA merged in
        outputs = tf.einsum("bhwc,cf->bhwf", inputs, kernel)
        if conv.use_bias:
            outputs = outputs + conv.bias
        return outputs if conv.activation is None else conv.activation(outputs)

    @staticmethod
    def replaces(layer) -> bool:
        return (
            type(layer) is keras.layers.Conv2D
            and tuple(layer.kernel_size) == (1, 1)
            and tuple(layer.strides) == (1, 1)
            and tuple(layer.dilation_rate) == (1, 1)
            and layer.groups == 1
            and layer.data_format == "channels_last"
        )


class FusedBatchNorm(_Twin):
    """An inference-mode `BatchNormalization` of NHWC maps as TensorFlow's fused op.

    In training mode with trainable statistics (batch moments) it runs the layer itself.
    """

    def call(self, inputs, training=None, mask=None):
        bn = self.source
        rank = len(inputs.shape)
        if (training and bn.trainable) or rank != 4 or bn.axis % rank != 3:
            return bn.call(inputs, training=training, mask=mask)
        outputs, _, _ = tf.compat.v1.nn.fused_batch_norm(
            inputs,
            bn.gamma,
            bn.beta,
            mean=bn.moving_mean,
            variance=bn.moving_variance,
            epsilon=bn.epsilon,
            is_training=False,
        )
        return outputs

    @staticmethod
    def replaces(layer) -> bool:
        return (
            type(layer) is keras.layers.BatchNormalization
            and layer.center
            and layer.scale
            and not layer.synchronized
            # fused_batch_norm needs epsilon > 1.001e-5 (TF's cuDNN-compatible minimum)
            and layer.epsilon > 1.001e-5
        )


_TWINS = (PointwiseConv2D, FusedBatchNorm)


def _twin_class(layer):
    """The twin class that replaces `layer`, or None."""
    if layer.dtype_policy.name != "float32":  # mixed precision keeps Keras's casts
        return None
    return next((twin for twin in _TWINS if twin.replaces(layer)), None)


def _layers(model: keras.Model):
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _layers(layer)
        else:
            yield layer


def with_fast_kernels(model: keras.Model) -> keras.Model:
    """`model` with twins for the layers a faster op can run (or `model` itself if none).

    Args:
        model: a functional model (nested functional models are cloned too).

    Returns:
        A functional model over `model`'s own layers and variables, or `model` unchanged
        when it has no layer to replace.

    Example:

    >>> import keras
    >>> from kerasft.cache.twins import with_fast_kernels
    >>> inputs = keras.Input((4, 4, 8))
    >>> x = keras.layers.Conv2D(16, 1)(inputs)
    >>> model = keras.Model(inputs, keras.layers.BatchNormalization()(x))
    >>> fast = with_fast_kernels(model)
    >>> [type(layer).__name__ for layer in fast.layers[1:]]
    ['PointwiseConv2D', 'FusedBatchNorm']
    >>> fast.trainable_variables[0] is model.trainable_variables[0]
    True
    """
    if not any(_twin_class(layer) is not None for layer in _layers(model)):
        return model

    def clone(layer):
        twin = _twin_class(layer)
        return layer if twin is None else twin(layer)

    return keras.models.clone_model(model, clone_function=clone, recursive=True)
