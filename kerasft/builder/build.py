"""`kft.build`: a plain functional Keras model from a pretrained backbone and a task head."""

from __future__ import annotations

import os
from collections.abc import Sequence

import keras

from kerasft.backbones import registry
from kerasft.backbones.preprocessing import Preprocessing
from kerasft.backbones.spec import BackboneSpec
from kerasft.builder.heads import head_layers
from kerasft.builder.inputs import channel_adapter, normalize_input_shape
from kerasft.errors import KerasftError


def _resolve_augmentation(augmentation) -> list[keras.layers.Layer]:
    if augmentation is None or augmentation is False:
        return []
    if isinstance(augmentation, str):
        from kerasft.augment import preset

        return list(preset(augmentation))
    if isinstance(augmentation, keras.layers.Layer):
        return [augmentation]
    return list(augmentation)


def _load_backbone_weights(backbone: keras.Model, path: str, name: str) -> None:
    if not os.path.exists(path):
        raise KerasftError(
            f"weights={path!r}: no such file. Pass 'imagenet', None, or the path of a weights "
            "file saved from this backbone (backbone.save_weights('x.weights.h5'))."
        )
    try:
        backbone.load_weights(path)
    except (ValueError, KeyError, OSError) as err:
        reason = str(err).strip().splitlines()[0][:200]
        raise KerasftError(
            f"weights={path!r} does not fit backbone {name!r} ({reason}). The file was probably "
            f"saved from another architecture; build with the backbone it came from, or pass "
            "weights='imagenet' / None."
        ) from None


def _make_backbone(spec: BackboneSpec, image_size: int, weights) -> keras.Model:
    if image_size < spec.min_size:
        raise KerasftError(
            f"image_size={image_size} is below {spec.name!r}'s minimum input side of "
            f"{spec.min_size} px. Pass image_size>={spec.min_size} (small images are upscaled "
            f"inside the model; {spec.default_size} is what the ImageNet weights saw)."
        )
    if weights not in ("imagenet", None):
        backbone = spec.create(image_size, weights=None)
        _load_backbone_weights(backbone, os.fspath(weights), spec.name)
        return backbone
    return spec.create(image_size, weights=weights)


def build(
    backbone: str | keras.Model = "mobilenet",
    num_classes: int = 10,
    *,
    task: str = "multiclass",
    input_shape: Sequence[int | None] = (None, None, 3),
    image_size: int | None = None,
    weights: str | os.PathLike | None = "imagenet",
    augmentation=None,
    preprocessing: str | None = None,
    pooling: str = "avg",
    dropout: float = 0.2,
    hidden_units: Sequence[int] = (),
    l1: float = 0.0,
    l2: float = 0.0,
    name: str | None = None,
    sequence_length: int | None = None,
    texts=None,
    lora_rank: int | None = None,
) -> keras.Model:
    """A functional `keras.Model`: raw images (or strings, or waveforms) in, task predictions out.

    The model is, in order: raw image input (uint8 or float 0..255) -> a fixed channel
    conversion to what the backbone takes (see below) -> resize to the backbone's size -> augmentation (active only in training) -> the
    backbone's own preprocessing -> backbone, called with `training=False` -> head. The
    backbone starts frozen. (Keras 3 overrides that `training=False` during `fit`; BatchNorm
    stays in inference mode because `kft.unfreeze` keeps its layers frozen.)

    Channels: registered backbones take RGB, so grayscale is repeated and RGBA loses alpha. A
    user backbone takes what its input shape says: the same count as the images passes
    through (e.g. 6-channel multispectral data into a 6-channel backbone), RGB or RGBA become
    luminance for a 1-channel backbone (ITU-R 601 weights, alpha dropped); any other pair
    (e.g. RGB into 4 channels) is refused at build time with the fix.

    Text: a text backbone ("minilm", or the path of a KerasHub / Hugging Face BERT-family
    preset folder) builds a model that takes a batch of strings: a `TextTokenizer` layer
    (ids of `sequence_length`) -> the encoder, whose blocks are `embeddings`,
    `transformer_layer_0` .. `transformer_layer_N`, mean-pooled over the real tokens -> head.
    It saves to `.keras` and reloads (with `kerasft` imported) and predicts from strings.

    Audio: the audio backbone "musicnn" (after `kerasft weights import musicnn`) builds a
    model that takes a batch of mono float32 waveforms at 16 kHz, of any length: waveform
    augmentation (training only) -> a `LogMel` front end (96 mel bands, float32) ->
    SpecAugment (training only) -> the musicnn network, whose blocks are `block1` ..
    `block5` -> head. `augmentation` takes an audio preset name ("light", "default",
    "strong") or a list of audio augmentation layers.

    Args:
        backbone: a registered name (`kft.backbones.list()`), a text or audio backbone (see
            above), or any `keras.Model` whose output is a feature map or a feature vector.
        num_classes: classes (multiclass, multilabel), 1 or 2 for binary, outputs for regression.
        task: "multiclass" (softmax), "binary" / "multilabel" (sigmoid) or "regression" (linear).
        input_shape: the shape of one raw image; (H, W) means grayscale. Audio: `(samples,)`,
            the clip length (`data.info.input_shape`); the default means any length.
        image_size: the side the backbone sees; defaults to the backbone's ImageNet size.
        weights: "imagenet" (for text and audio backbones also spelled "pretrained": their
            own pretrained weights), None (random init) or the path of a backbone weights file.
        augmentation: None, a preset name ("light", "medium", ...) or a list of layers.
        preprocessing: for a user backbone, one of "tf", "caffe", "torch", "none"
            (registered backbones know their own).
        pooling, dropout, hidden_units, l1, l2: the head.
        name: the model's name; by default Keras's.
        sequence_length: text only: token ids per text (special tokens included); None
            picks the 95th percentile of `texts`' token counts (capped at 128), or 128.
        texts: text only: training texts to choose `sequence_length` from.
        lora_rank: put LoRA adapters of this rank on the backbone (`kft.enable_lora`: the
            attention query/value projections of a text encoder, the Conv2D and Dense layers
            of an image backbone); None or 0: none.

    Example:

    >>> import kerasft as kft
    >>> model = kft.build("mobilenet", num_classes=10, input_shape=(28, 28, 1),
    ...                   image_size=96, weights=None)
    >>> model.output_shape
    (None, 10)
    """
    from kerasft.backbones.audio_presets import is_audio_backbone
    from kerasft.backbones.text_presets import is_text_backbone

    # What every modality's builder takes alike: the task, the weights and the head.
    common = dict(
        task=task,
        weights=weights,
        pooling=pooling,
        dropout=dropout,
        hidden_units=hidden_units,
        l1=l1,
        l2=l2,
        name=name,
    )
    if is_audio_backbone(backbone):
        if image_size is not None or preprocessing is not None or sequence_length or texts:
            raise KerasftError(
                f"backbone={backbone!r} is an audio backbone: image_size, preprocessing, "
                "sequence_length and texts are for images and texts (an audio model makes its "
                "log-mel spectrograms itself)."
            )
        from kerasft.builder.audio import build_audio

        shape = tuple(input_shape)
        return _with_lora(
            build_audio(
                backbone,
                num_classes,
                samples=shape[0] if len(shape) == 1 else None,
                augmentation=augmentation,
                **common,
            ),
            lora_rank,
        )
    if is_text_backbone(backbone):
        if augmentation or image_size is not None or preprocessing is not None:
            raise KerasftError(
                f"backbone={backbone!r} is a text backbone: augmentation, image_size and "
                "preprocessing are for images (a text model tokenizes its strings itself)."
            )
        from kerasft.builder.text import build_text

        return _with_lora(
            build_text(
                backbone, num_classes, sequence_length=sequence_length, texts=texts, **common
            ),
            lora_rank,
        )
    if sequence_length is not None or texts is not None:
        raise KerasftError(
            f"sequence_length and texts are for text backbones; {backbone!r} is an image backbone."
        )
    shape = normalize_input_shape(tuple(input_shape))
    if isinstance(backbone, keras.Model):
        net = backbone
        size = net.input_shape[1] or image_size
        if size is None:
            raise KerasftError(
                "The backbone model has no fixed input size; build it with input_shape=(S, S, C) "
                "or pass image_size=S."
            )
        prep = Preprocessing(preprocessing or "none")
    else:
        spec = registry.get(backbone)
        size = int(image_size or spec.default_size)
        net = _make_backbone(spec, size, weights)
        net._kerasft_backbone = spec.name  # lets block_map skip guessing the family
        prep = spec.preprocessing
    net.trainable = False  # phase 1 trains the head only

    inputs = keras.Input(shape=shape, name="image")
    x = inputs
    backbone_shape = tuple(net.input_shape)
    if backbone_shape[-1] not in (3, None) and prep.mode in ("caffe", "torch"):
        raise KerasftError(
            f"preprocessing={prep.mode!r} normalizes three RGB channels, but the backbone takes "
            f"input of shape {backbone_shape!r}. Pass preprocessing='tf' or 'none' (or scale "
            "the pixels inside your backbone)."
        )
    adapter = channel_adapter(shape, backbone_shape, bgr=prep.wants_bgr)
    if adapter is not None:
        x = adapter(x)
    if shape[0] != size or shape[1] != size:
        x = keras.layers.Resizing(size, size, name="kft_resize")(x)
    for layer in _resolve_augmentation(augmentation):
        x = layer(x)
    for layer in prep.layers():
        x = layer(x)
    x = net(x, training=False)
    head = head_layers(task, num_classes, pooling, dropout, tuple(hidden_units), l1, l2)
    if len(x.shape) == 2:
        head = head[1:]  # the backbone already pools
    for layer in head:
        x = layer(x)
    return _with_lora(keras.Model(inputs, x, name=name or f"kft_{net.name}"), lora_rank)


def _with_lora(model: keras.Model, rank: int | None) -> keras.Model:
    if rank in (None, 0):
        return model
    from kerasft.backbones.adapters import add_adapters

    add_adapters(get_backbone(model), rank)
    return model


def get_backbone(model: keras.Model) -> keras.Model:
    """The backbone inside a `kft.build` model (its nested `keras.Model`), or `model` itself.

    Args:
        model: a model from `kft.build`, or any `keras.Model`.
    """
    nested = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    if not nested:
        return model
    # The backbone is the largest nested model (an ensemble or augmentation may nest others).
    return max(nested, key=lambda m: m.count_params())
