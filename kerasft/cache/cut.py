"""`ModelCut`: a model split at one tensor into a frozen prefix and a trainable suffix.

Both halves are new functional models over the *same* layer objects, so training the
suffix trains the full model: there are no weights to copy back, and the saved model is the
usual one taking raw images.
"""

from __future__ import annotations

import keras
import numpy as np

from kerasft import compat
from kerasft.backbones.blocks import block_map
from kerasft.builder.build import get_backbone
from kerasft.errors import KerasftError

# Layers without weights that map one tensor to one tensor the same way in training and
# inference: a phase-1 cut may move past them (caching pooled vectors, not feature maps).
_DETERMINISTIC = (
    keras.layers.GlobalAveragePooling2D,
    keras.layers.GlobalMaxPooling2D,
    keras.layers.GlobalAveragePooling1D,
    keras.layers.GlobalMaxPooling1D,
    keras.layers.Flatten,
)


def _outer_node(model: keras.Model, backbone: keras.Model):
    """The node where `model`'s graph calls the nested `backbone`."""
    nodes = [n for depth in compat.nodes_by_depth(model).values() for n in depth]
    found = [n for n in nodes if n.operation is backbone]
    if len(found) != 1:
        raise KerasftError(
            f"The backbone {backbone.name!r} is called {len(found)} times in the model; the "
            "feature cache needs a model that calls it exactly once."
        )
    return found[0]


def _output_in(graph: keras.Model, layer: keras.layers.Layer):
    """`layer`'s output in `graph` (`layer.output` is its first call's, and a layer shared
    with another model, as a text encoder shares KerasHub's, may have been called there
    first)."""
    if not isinstance(graph, keras.Sequential):  # a Sequential keeps no graph of nodes
        nodes = [n for depth in compat.nodes_by_depth(graph).values() for n in depth]
        found = [n for n in nodes if n.operation is layer]
        if len(found) == 1:
            return found[0].output_tensors[0]
    return layer.output


def _consumers(model: keras.Model, tensor) -> list:
    nodes = [n for depth in compat.nodes_by_depth(model).values() for n in depth]
    return [n for n in nodes if any(t is tensor for t in n.input_tensors)]


class ModelCut:
    """Split `model` after backbone block `after_block` (or after the whole backbone).

    Attributes:
        prefix: raw model input -> features at the cut (frozen part; run it with `predict`).
        suffix: features -> model output (the part that trains).
        name: where the cut is (`"block_11"`, or `"backbone"` / `"kft_head_pool"`).
        feature_shape: the shape of one sample's features.

    Args:
        model: a `kft.build` model or any single-input functional model.
        after_block: a block name from `kft.backbones.block_map`, or None to cut after the
            backbone (and after a global pooling layer that directly follows it).

    Example:

    >>> import kerasft as kft
    >>> from kerasft.cache import ModelCut
    >>> model = kft.build("mobilenet", 3, input_shape=(32, 32, 3), image_size=32, weights=None)
    >>> cut = ModelCut(model, after_block="block_11")
    >>> cut.feature_shape, cut.suffix.output_shape
    ((2, 2, 512), (None, 3))
    """

    def __init__(self, model: keras.Model, after_block: str | None = None):
        if len(model.inputs) != 1 or len(model.outputs) != 1:
            raise KerasftError(
                "The feature cache handles single-input, single-output models; this one has "
                f"{len(model.inputs)} inputs and {len(model.outputs)} outputs."
            )
        self.model = model
        self.backbone = get_backbone(model)
        self.nested = self.backbone is not model
        self._node = _outer_node(model, self.backbone) if self.nested else None
        self._kwargs = dict(self._node.arguments.kwargs) if self.nested else {}
        if after_block is not None:
            blocks = block_map(self.backbone)
            if after_block not in blocks:
                from kerasft.errors import unknown_name

                raise unknown_name("block", after_block, list(blocks))
            self.inner = True
            graph = self.backbone if self.nested else model
            self.tensor = _output_in(graph, blocks[after_block][-1])
            self.name = after_block
            self.side = None
            self._check_separates(graph)
        else:
            if not self.nested:
                raise KerasftError(
                    "Cutting after the backbone needs a kft.build model (a backbone nested in "
                    "a model with a head); pass after_block=NAME for a plain model."
                )
            self.inner = False
            self.side = None
            self.tensor, self.name = self._after_backbone()
        self.feature_shape = tuple(self.tensor.shape[1:])
        if None in self.feature_shape:
            raise KerasftError(
                f"The features at {self.name} have shape {self.feature_shape}: a cache needs "
                "a fixed size. Build the model with a fixed input (an audio model: "
                "input_shape=(samples,), the clip length)."
            )
        if self.side is not None:  # the mask rides along as one more channel
            self.feature_shape = (*self.feature_shape[:-1], self.feature_shape[-1] + 1)
        self.prefix = self._wrap(model.inputs[0], self._path("input", self))
        self.suffix = self._wrap(self._feature_input(), self._path(self, "output"))
        # The layers before the backbone (resizing, augmentation, preprocessing): the only
        # part that may run in training mode while features are computed.
        self.pre_backbone = None
        if self.nested and self._node.input_tensors[0] is not model.inputs[0]:
            self.pre_backbone = keras.Model(model.inputs[0], self._node.input_tensors[0])

    def _after_backbone(self):
        tensor, name = self._node.output_tensors[0], "backbone"
        consumers = _consumers(self.model, tensor)
        while len(consumers) == 1 and isinstance(consumers[0].operation, _DETERMINISTIC):
            tensor, name = consumers[0].output_tensors[0], consumers[0].operation.name
            consumers = _consumers(self.model, tensor)
        return tensor, name

    def _check_separates(self, graph: keras.Model) -> None:
        # A cut inside a residual branch leaves a skip connection around it: the suffix would
        # then need more than the cut tensor. Keras reports it as a disconnected graph.
        try:
            keras.Model(self.tensor, graph.outputs)
            return
        except ValueError as err:
            reason = err
        # A transformer's later layers also read the padding mask, made from the input: it
        # is cached beside the hidden states, as one more channel.
        side = self._mask_side(graph)
        if side is not None:
            try:
                keras.Model([self.tensor, side], graph.outputs)
                self.side = side
                return
            except ValueError:
                pass
        raise KerasftError(
            f"Cannot cut after block {self.name!r}: later layers also read tensors from "
            f"before it ({reason}). Unfreeze a different number of blocks."
        ) from None

    def _mask_side(self, graph: keras.Model):
        """The one per-position tensor from before the cut that later layers read (a padding
        mask of shape (batch, length) beside hidden states (batch, length, width)), or None."""
        downstream = {id(self.tensor)}
        outside = {}
        # Deepest nodes are nearest the inputs: walk them first, so producers come first.
        for depth in sorted(compat.nodes_by_depth(graph), reverse=True):
            for node in compat.nodes_by_depth(graph)[depth]:
                inputs = list(node.input_tensors)
                if not any(id(t) in downstream for t in inputs):
                    continue
                for t in inputs:
                    if id(t) not in downstream:
                        outside[id(t)] = t
                downstream.update(id(t) for t in node.output_tensors)
        sides = list(outside.values())
        shape = tuple(self.tensor.shape)
        if len(sides) == 1 and len(shape) == 3 and tuple(sides[0].shape) == shape[:2]:
            return sides[0]
        return None

    def ends(self) -> list:
        """The tensors at the cut: the features, and the mask beside them if there is one."""
        return [self.tensor] if self.side is None else [self.tensor, self.side]

    def pack(self, outputs):
        """`ends()`-shaped tensors -> one features tensor (the mask as a last channel)."""
        if self.side is None:
            return outputs
        hidden, side = outputs
        mask = keras.ops.expand_dims(keras.ops.cast(side, hidden.dtype), -1)
        return keras.ops.concatenate([hidden, mask], axis=-1)

    def unpack(self, features):
        """One features tensor -> the `ends()` tensors it packs."""
        if self.side is None:
            return features
        return [features[..., :-1], keras.ops.cast(features[..., -1], self.side.dtype)]

    def _feature_input(self):
        return keras.Input(self.feature_shape, name="kft_features", dtype=self.tensor.dtype)

    def _wrap(self, template, fn) -> keras.Model:
        inputs = keras.Input(
            template.shape[1:], dtype=template.dtype, name=getattr(template, "name", None)
        )
        return keras.Model(inputs, fn(inputs), name=f"kft_cut_{self.name}")

    def _path(self, start, end):
        """A function running the layers between two cuts ("input", a cut, "output")."""
        model, backbone = self.model, self.backbone
        start_cut = start if isinstance(start, ModelCut) else None
        end_cut = end if isinstance(end, ModelCut) else None

        def outer(src, dst):
            src = model.inputs[0] if src is None else src
            dst = model.outputs[0] if dst is None else dst
            return None if src is dst else keras.Model(src, dst)

        def inner(src_cut, dst_cut):
            # A cut with a mask side starts (or ends) its segment at both tensors.
            graph = backbone if self.nested else model
            src = [graph.inputs[0]] if src_cut is None else src_cut.ends()
            dst = [graph.outputs[0]] if dst_cut is None else dst_cut.ends()
            if src[0] is dst[0]:
                return None
            return keras.Model(src if len(src) > 1 else src[0], dst if len(dst) > 1 else dst[0])

        s_inner = start_cut is not None and start_cut.inner
        e_inner = end_cut is not None and end_cut.inner
        s_tensor = start_cut.tensor if start_cut is not None else None
        e_tensor = end_cut.tensor if end_cut is not None else None
        # (model or None, call kwargs, cut whose features it unpacks, cut whose features it packs)
        segments = []
        if not self.nested:
            segments.append((inner(start_cut, end_cut), {}, start_cut, end_cut))
        elif s_inner and e_inner:
            segments.append((inner(start_cut, end_cut), self._kwargs, start_cut, end_cut))
        elif s_inner:
            segments.append((inner(start_cut, None), self._kwargs, start_cut, None))
            segments.append((outer(self._node.output_tensors[0], e_tensor), {}, None, None))
        elif e_inner:
            segments.append((outer(s_tensor, self._node.input_tensors[0]), {}, None, None))
            segments.append((inner(None, end_cut), self._kwargs, None, end_cut))
        else:
            segments.append((outer(s_tensor, e_tensor), {}, None, None))

        def run(x):
            for part, kwargs, unpacks, packs in segments:
                if part is None:
                    continue
                if unpacks is not None:
                    x = unpacks.unpack(x)
                x = part(x, **kwargs)
                if packs is not None:
                    x = packs.pack(x)
            return x

        return run

    def to(self, later: ModelCut) -> keras.Model:
        """The frozen layers from this cut's features to `later`'s features."""
        return self._wrap(self._feature_input(), self._path(self, later))

    def prefix_variables(self) -> list:
        """Trainable variables before the cut (must be empty for the cache to be valid)."""
        suffix_ids = {id(v) for v in self.suffix.trainable_variables}
        return [v for v in self.model.trainable_variables if id(v) not in suffix_ids]

    def augmented_prefix(self) -> keras.Model:
        """The prefix with the layers before the backbone in training mode (augmentation on)
        and the backbone in inference mode."""
        if self.pre_backbone is None:
            return self.prefix
        rest = (
            keras.Model(self._node.input_tensors[0], self.tensor)
            if not self.inner
            else (keras.Model(self.backbone.inputs[0], self.ends()))
        )
        inputs = keras.Input(self.model.inputs[0].shape[1:], dtype=self.model.inputs[0].dtype)
        outputs = self.pack(rest(self.pre_backbone(inputs, training=True), training=False))
        return keras.Model(inputs, outputs, name=f"kft_cut_{self.name}_augmented")

    def is_deterministic(self, sample: np.ndarray) -> bool:
        """True if the layers before the cut map `sample` the same way in training and
        inference mode.

        Random augmentation before the backbone (or, in a plain model, dropout before the
        cut) makes it False: features computed once would freeze one random draw. In a
        `kft.build` model only the layers before the backbone are checked: the backbone's
        features are cached in inference mode, as `kft.build` calls it.
        """
        part = self.pre_backbone if self.nested else self.prefix
        if part is None:
            return True
        inference = keras.ops.convert_to_numpy(part(sample, training=False))
        for _ in range(3):
            train = keras.ops.convert_to_numpy(part(sample, training=True))
            if not np.allclose(train, inference, rtol=1e-4, atol=1e-5):
                return False
        return True
