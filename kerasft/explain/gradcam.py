"""Grad-CAM heatmaps: where in an image the last convolutional feature map drove a prediction.

For a `kerasft.build` model (input -> preprocessing -> backbone -> pooling -> head) the feature
map is the output of the nested backbone model; for a plain conv net it is the last layer with a
4D output. Works on models reloaded with plain `keras.models.load_model`, since it only reads the
model's graph.

Example:

>>> import numpy as np, keras, kerasft as kft
>>> model = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Conv2D(4, 3, name="conv"),
...                           keras.layers.GlobalAveragePooling2D(),
...                           keras.layers.Dense(2, activation="softmax")])
>>> heatmaps = kft.explain(model, np.random.rand(2, 16, 16, 3))
>>> heatmaps.shape, float(heatmaps.min()) >= 0.0, float(heatmaps.max()) <= 1.0
((2, 16, 16), True, True)
"""

from __future__ import annotations

import numpy as np

from kerasft import compat
from kerasft.data.channels import with_channel_axis
from kerasft.errors import KerasftError


def _outer_output(model, layer):
    """The symbolic output of `layer` inside `model`'s own graph (not the nested model's graph)."""
    import keras

    for node in compat.inbound_nodes(layer):
        tensors = node.output_tensors
        if len(tensors) != 1:
            continue
        try:
            # Only a node of this model's graph connects the model's inputs to the tensor.
            keras.Model(model.inputs, tensors[0])
        except (ValueError, KeyError):
            continue
        return tensors[0]
    return None


def _rank(tensor) -> int:
    return len(tensor.shape)


def _activation_name(layer) -> str | None:
    import keras

    if isinstance(layer, keras.layers.Softmax):
        return "softmax"
    activation = getattr(layer, "activation", None)
    if activation is None:
        return None
    return getattr(activation, "__name__", str(activation))


def _producer(tensor):
    history = compat.tensor_history(tensor)
    return history[0] if history else None


class GradCAM:
    """Grad-CAM explainer for one classification model.

    Args:
        model: a Keras model with one image input and one classification output.
        layer: name of the layer whose 4D output is explained. Default: the nested backbone model
            of a `kerasft.build` model, else the last layer with a 4D output.

    Call it on a batch of images (what the model takes, e.g. raw 0-255 pixels for `kerasft.build`
    models) to get heatmaps `(N, H, W)` in [0, 1] at the images' size. The score explained is the
    class's pre-softmax/pre-sigmoid logit when the head exposes it.

    An ensemble (`kerasft.ensemble` / `kerasft.stack`: nested member models, no feature map of its
    own) is explained by the mean of its members' heatmaps for the ensemble's class.
    """

    def __init__(self, model, layer: str | None = None):
        import keras

        if not getattr(model, "inputs", None) or len(model.inputs) != 1:
            raise KerasftError(
                "Grad-CAM needs a functional or Sequential Keras model with exactly one input."
            )
        self.model = model
        self.members: list[GradCAM] = []
        self.num_outputs = int(model.outputs[0].shape[-1])
        try:
            self.layer = self._find_layer(model, layer)
        except KerasftError:
            self.members = [] if layer is not None else self._member_explainers(model)
            if not self.members:
                raise
            self.layer = None
            return
        feature = _outer_output(model, self.layer)
        if feature is None or _rank(feature) != 4:
            raise KerasftError(
                f"Layer {self.layer.name!r} has no 4D feature map in this model; pass `layer=` "
                "naming a convolutional layer or block."
            )
        output = model.outputs[0]
        last = _producer(output)
        self._head_dense = None
        score_source = output
        activation = _activation_name(last) if last is not None else None
        if activation in ("softmax", "sigmoid") and last is not None:
            nodes = compat.inbound_nodes(last)
            head_input = nodes[0].input_tensors[0] if nodes else None
            if isinstance(last, keras.layers.Dense) and head_input is not None:
                # Differentiate the logit, not the saturating probability.
                self._head_dense = last
                score_source = head_input
            elif head_input is not None:
                score_source = head_input
        self._grad_model = keras.Model(model.inputs, [feature, score_source])

    @staticmethod
    def _member_explainers(model) -> list[GradCAM]:
        import keras

        explainers = []
        for layer in model.layers:
            if not isinstance(layer, keras.Model):
                continue
            try:
                explainers.append(GradCAM(layer))
            except KerasftError:
                continue
        return explainers

    @staticmethod
    def _find_layer(model, name: str | None):
        import keras

        if name is not None:
            try:
                return model.get_layer(name)
            except ValueError:
                names = [layer.name for layer in model.layers]
                from kerasft.errors import unknown_name

                raise unknown_name("layer", name, names) from None
        candidates = []
        for layer in model.layers:
            if isinstance(layer, keras.Model):
                out = _outer_output(model, layer)
                if out is not None and _rank(out) == 4:
                    candidates.append(layer)
        if candidates:
            # The backbone is the largest nested model (augmentation may nest a small one).
            return max(candidates, key=lambda m: m.count_params())
        for layer in reversed(model.layers):
            if isinstance(layer, keras.layers.InputLayer):
                continue
            out = _outer_output(model, layer)
            if out is not None and _rank(out) == 4:
                return layer
        raise KerasftError(
            "Found no convolutional feature map in this model (no nested backbone model and no "
            "layer with a 4D output); Grad-CAM needs a convolutional network."
        )

    @property
    def layer_name(self) -> str:
        """The explained layer, or for an ensemble each member's, joined by commas."""
        if self.layer is not None:
            return self.layer.name
        return ", ".join(f"{m.model.name}/{m.layer_name}" for m in self.members)

    def get_config(self) -> dict:
        return {"layer": None if self.layer is None else self.layer.name}

    def _logits(self, source):
        if self._head_dense is None:
            return source
        import keras

        dense = self._head_dense
        logits = keras.ops.matmul(source, dense.kernel)
        return logits + dense.bias if dense.use_bias else logits

    def __call__(
        self, images: np.ndarray, class_index: int | np.ndarray | None = None, batch_size: int = 16
    ) -> np.ndarray:
        """Heatmaps `(N, H, W)` in [0, 1] for `class_index` (default: each image's predicted class).

        For a one-unit sigmoid (binary) model, class 1 explains the logit and class 0 its negation.
        """
        images = np.asarray(images)
        shape = tuple(self.model.inputs[0].shape)
        images = with_channel_axis(images, shape)  # grayscale (N, H, W) of a (H, W, 1) model
        if images.ndim == len(shape) - 1:
            images = images[None]  # one image without its batch axis
        if images.ndim != 4:
            raise KerasftError(f"Grad-CAM needs images (N, H, W, C); got shape {images.shape}.")
        if class_index is not None:
            class_index = np.broadcast_to(np.asarray(class_index, np.int64), (len(images),))
            limit = 2 if self.num_outputs == 1 else self.num_outputs
            if class_index.min() < 0 or class_index.max() >= limit:
                raise KerasftError(
                    f"class_index must lie in [0, {limit - 1}] for this model; got "
                    f"{class_index.min()}..{class_index.max()}."
                )
        if self.members:
            return self._ensemble(images, class_index, batch_size)
        maps = []
        for i in range(0, len(images), batch_size):
            chunk = images[i : i + batch_size]
            idx = None if class_index is None else class_index[i : i + batch_size]
            maps.append(self._batch(chunk, idx))
        return np.concatenate(maps, axis=0)

    def _ensemble(self, images: np.ndarray, class_index, batch_size: int) -> np.ndarray:
        if class_index is None:
            probs = np.concatenate(
                [
                    np.asarray(self.model.predict_on_batch(images[i : i + batch_size]))
                    for i in range(0, len(images), batch_size)
                ]
            )
            # Every member explains the ensemble's decision, not its own.
            class_index = (probs[:, 0] >= 0.5) if self.num_outputs == 1 else probs.argmax(1)
            class_index = class_index.astype(np.int64)
        cam = np.mean([m(images, class_index, batch_size) for m in self.members], axis=0)
        peak = cam.reshape(len(cam), -1).max(axis=1)
        return np.where(peak[:, None, None] > 0, cam / np.maximum(peak, 1e-12)[:, None, None], 0.0)

    def _batch(self, images: np.ndarray, class_index: np.ndarray | None) -> np.ndarray:
        import tensorflow as tf

        x = tf.convert_to_tensor(images)
        with tf.GradientTape() as tape:
            feature, source = self._grad_model(x, training=False)
            tape.watch(feature)
            logits = tf.cast(self._logits(source), tf.float32)
            if self.num_outputs == 1:
                # Binary: explain the logit for class 1 and its negation for class 0.
                sign = (
                    tf.where(logits[:, 0] >= 0, 1.0, -1.0)
                    if class_index is None
                    else tf.constant(np.where(class_index == 1, 1.0, -1.0), tf.float32)
                )
                score = sign * logits[:, 0]
            else:
                idx = tf.argmax(logits, axis=1) if class_index is None else class_index
                score = tf.gather(logits, idx, axis=1, batch_dims=1)
        grads = tape.gradient(score, feature)
        feature = tf.cast(feature, tf.float32)
        weights = tf.reduce_mean(tf.cast(grads, tf.float32), axis=(1, 2), keepdims=True)
        cam = tf.nn.relu(tf.reduce_sum(weights * feature, axis=-1))[..., None]
        cam = tf.image.resize(cam, images.shape[1:3], method="bilinear")[..., 0].numpy()
        peak = cam.reshape(len(cam), -1).max(axis=1)
        # A map with no positive evidence stays all zero rather than dividing by zero.
        return np.where(peak[:, None, None] > 0, cam / np.maximum(peak, 1e-12)[:, None, None], 0.0)


def explain(
    model, images: np.ndarray, class_index: int | np.ndarray | None = None, layer: str | None = None
) -> np.ndarray:
    """Grad-CAM heatmaps `(N, H, W)` in [0, 1] of `model` on `images`.

    `class_index` picks the class to explain (an int for all images or one per image); by default
    each image's predicted class. See `GradCAM` for how the feature map is found.

    Args:
        model: a Keras image classifier (a `kft.build` model or any model with a conv feature map).
        images: a batch of images `(N, H, W, C)` as the model takes them.
        class_index: the class to explain: one int for all images, one per image, or None for
            each image's predicted class.
        layer: the name of the feature-map layer; by default the last one (see `GradCAM`).
    """
    return GradCAM(model, layer=layer)(images, class_index=class_index)


def overlay(images: np.ndarray, heatmaps: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """Blend heatmaps `(N, H, W)` over images as uint8 RGB `(N, H, W, 3)` with the jet colormap.

    Args:
        images: `(N, H, W, C)` images, in any value range (each is scaled to 0..1 for display).
        heatmaps: `(N, H, W)` heatmaps in [0, 1], as `explain` returns them.
        alpha: the heatmap's weight in the blend.
    """
    from kerasft.evaluation.plots import blend_heatmap

    images, heatmaps = np.asarray(images), np.asarray(heatmaps)
    if heatmaps.ndim == 2:
        images, heatmaps = images[None], heatmaps[None]
    blended = np.stack([blend_heatmap(i, h, alpha) for i, h in zip(images, heatmaps, strict=True)])
    return np.round(blended * 255).astype(np.uint8)
