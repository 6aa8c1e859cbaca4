"""Grad-CAM heatmaps: where in an image a convolutional feature map drove a prediction.

The feature map explained by default is the deepest one that still has at least `MIN_SIDE` x
`MIN_SIDE` cells: a backbone's last block is often 2 x 2 at small image sizes, and a heatmap
upsampled from 2 x 2 is a smear. For a `kerasft.build` model (input -> preprocessing -> backbone
-> pooling -> head) it is the backbone's output when that is large enough, else a layer inside the
nested backbone; for a plain conv net, one of its own layers. Works on models reloaded with plain
`keras.models.load_model`, since it only reads the model's graph.

Example:

>>> import numpy as np, keras, kerasft as kft
>>> model = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Conv2D(4, 3, name="conv"),
...                           keras.layers.GlobalAveragePooling2D(),
...                           keras.layers.Dense(2, activation="softmax")])
>>> heatmaps = kft.explain(model, np.random.rand(2, 16, 16, 3))
>>> heatmaps.shape, float(heatmaps.min()) >= 0.0, float(heatmaps.max()) <= 1.0
((2, 16, 16), True, True)
>>> kft.explain.GradCAM(model).layer_name
'conv'
"""

from __future__ import annotations

import math

import numpy as np

from kerasft import compat
from kerasft.data.channels import with_channel_axis
from kerasft.errors import KerasftError

MIN_SIDE = 7  # the smallest feature map (cells per side) a default Grad-CAM layer may have


def _outer_node(model, layer):
    """The node (call) of `layer` that belongs to `model`'s own graph, or None."""
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
        return node
    return None


def _outer_output(model, layer):
    """The symbolic output of `layer` inside `model`'s own graph (not the nested model's graph)."""
    node = _outer_node(model, layer)
    return None if node is None else node.output_tensors[0]


def _rank(tensor) -> int:
    return len(tensor.shape)


def _side(tensor) -> float:
    """The feature map's shorter spatial side; unknown (free input size) counts as large."""
    height, width = tensor.shape[1:3]
    return math.inf if height is None or width is None else min(height, width)


def _moves_no_content(layer) -> bool:
    import keras

    # Padding and cropping only shift the map against the image; preprocessing layers (resize,
    # rescale, augmentations) output the image itself, not features.
    return isinstance(
        layer, (keras.layers.InputLayer, keras.layers.ZeroPadding2D, keras.layers.Cropping2D)
    ) or compat.is_keras_preprocessing_layer(layer)


def _feature_maps(graph, layers) -> list:
    """`(layer, output)` for each of `layers` with a 4D output in `graph`, in graph order."""
    maps = []
    for layer in layers:
        if _moves_no_content(layer):
            continue
        out = _outer_output(graph, layer)
        if out is not None and _rank(out) == 4:
            maps.append((layer, out))
    return maps


def _default_choice(maps: list):
    """The deepest map at least `MIN_SIDE` on a side, else the deepest of the largest ones."""
    fine = [item for item in maps if _side(item[1]) >= MIN_SIDE]
    if fine:
        return fine[-1]
    largest = max(_side(out) for _, out in maps)
    return [item for item in maps if _side(item[1]) == largest][-1]


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


def _nested_models(model) -> list:
    """The models nested in `model` with weights, largest (the backbone) first."""
    import keras

    nested = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    # Augmentation may nest a small weightless model; the backbone is the largest.
    return sorted(
        (m for m in nested if m.count_params()), key=lambda m: m.count_params(), reverse=True
    )


def _through_backbone(model, backbone, feature, score_source):
    """A model from `model`'s input to `[feature, score_source]`, `feature` being a tensor of
    the nested `backbone`'s own graph.

    The inner tensor is not connected to the outer model's input, so the forward pass is
    rebuilt from three pieces that share the model's layers: the outer graph up to the
    backbone, the backbone with the feature as a second output, and the outer graph after it.
    """
    import keras

    node = _outer_node(model, backbone)
    try:
        before = keras.Model(model.inputs, node.input_tensors[0])
        probe = keras.Model(backbone.inputs, [feature, backbone.outputs[0]])
        after = keras.Model(node.output_tensors[0], score_source)
    except (ValueError, KeyError, IndexError):
        raise KerasftError(
            f"Cannot explain a layer inside {backbone.name!r}: the model's output depends on "
            f"more than the backbone's output. Pass `layer={backbone.name!r}` (its output) or "
            "a layer of the outer model."
        ) from None
    image = keras.Input(batch_shape=tuple(model.inputs[0].shape), dtype=model.inputs[0].dtype)
    inner, out = probe(before(image))
    return keras.Model(image, [inner, after(out)])


def _named_layer(model, name: str):
    """`(container, layer)` for a `layer=` name: a layer of `model`, or one inside a nested model."""
    import keras

    from kerasft.errors import unknown_name

    outer, _, inner = name.partition("/")  # Keras layer names never hold a "/"
    names = {layer.name: layer for layer in model.layers}
    if not inner and outer in names:
        return None, names[outer]
    containers = [names[outer]] if inner and outer in names else _nested_models(model)
    for container in containers:
        if not isinstance(container, keras.Model):
            continue
        for layer in container.layers:
            if layer.name == (inner or outer):
                return container, layer
    options = list(names) + [
        f"{m.name}/{layer.name}" for m in _nested_models(model) for layer in m.layers
    ]
    raise unknown_name("layer", name, options)


class GradCAM:
    """Grad-CAM explainer for one classification model.

    Args:
        model: a Keras model with one image input and one classification output.
        layer: name of the layer whose 4D output is explained: a layer of `model`, a layer
            inside its nested backbone (`"conv_pw_5_relu"`), or `"backbone/layer"` (what
            `layer_name` reports). Default: the deepest feature map with at least `MIN_SIDE`
            cells on each side (inside the nested backbone of a `kerasft.build` model, unless
            the backbone's own output is that large), else the deepest of the largest ones.

    Call it on a batch of images (what the model takes, e.g. raw 0-255 pixels for `kerasft.build`
    models) to get heatmaps `(N, H, W)` in [0, 1] at the images' size. The score explained is the
    class's pre-softmax/pre-sigmoid logit when the head exposes it. `layer_name` says which
    layer was explained.

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
        self.container = None  # the nested model holding `layer`, when it is not `model`
        try:
            self.container, self.layer = self._find_layer(model, layer)
        except KerasftError:
            self.members = [] if layer is not None else self._member_explainers(model)
            if not self.members:
                raise
            self.layer = None
            return
        feature = _outer_output(self.container or model, self.layer)
        if feature is None or _rank(feature) != 4:
            raise KerasftError(
                f"Layer {self.layer_name!r} has no 4D feature map in this model; pass `layer=` "
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
        if self.container is None:
            self._grad_model = keras.Model(model.inputs, [feature, score_source])
        else:
            self._grad_model = _through_backbone(model, self.container, feature, score_source)

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
        """`(container, layer)`: the layer to explain and the nested model holding it (or None)."""
        if name is not None:
            return _named_layer(model, name)
        for backbone in _nested_models(model):
            out = _outer_output(model, backbone)
            if out is None or _rank(out) != 4:
                continue
            maps = _feature_maps(backbone, backbone.layers)
            maps.append((backbone, out))  # its output: the deepest map, in the outer graph
            layer, _ = _default_choice(maps)
            return (None if layer is backbone else backbone), layer
        maps = _feature_maps(model, model.layers)
        if maps:
            return None, _default_choice(maps)[0]
        raise KerasftError(
            "Found no convolutional feature map in this model (no nested backbone model and no "
            "layer with a 4D output); Grad-CAM needs a convolutional network."
        )

    @property
    def layer_name(self) -> str:
        """The explained layer (`backbone/layer` for one inside the nested backbone), or for an
        ensemble each member's, joined by commas."""
        if self.layer is not None:
            prefix = "" if self.container is None else f"{self.container.name}/"
            return prefix + self.layer.name
        return ", ".join(f"{m.model.name}/{m.layer_name}" for m in self.members)

    def get_config(self) -> dict:
        return {"layer": None if self.layer is None else self.layer_name}

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
