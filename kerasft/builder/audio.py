"""Audio models: raw mono waveforms -> augmentation -> log-mel front end -> musicnn -> head."""

from __future__ import annotations

from collections.abc import Sequence

import keras

from kerasft.builder.heads import head_layers
from kerasft.errors import KerasftError

FRONT_END_NAME = "kft_log_mel"
_PRETRAINED = ("imagenet", "pretrained")


def split_augmentation(augmentation) -> tuple[list, list]:
    """The waveform layers (before the front end) and spectrogram layers (after it) of an
    audio model's `augmentation`.

    Args:
        augmentation: None/False (none), a strength (`kft.augment.STRENGTHS`: "none",
            "light", "default": `audio_augmentation` before the front end and
            `spec_augmentation` after it), or a list of layers: `SpecAugment` layers go after
            the front end, the others before it (they see waveforms).
    """
    if augmentation is None or augmentation is False:
        return [], []
    from kerasft.augment.audio import SpecAugment
    from kerasft.augment.audio_presets import audio_augmentation, spec_augmentation

    if isinstance(augmentation, str):
        return audio_augmentation(augmentation), spec_augmentation(augmentation)
    layers = [augmentation] if isinstance(augmentation, keras.layers.Layer) else augmentation
    layers = list(layers)
    spec = [layer for layer in layers if isinstance(layer, SpecAugment)]
    return [layer for layer in layers if not isinstance(layer, SpecAugment)], spec


def build_audio(
    backbone: str,
    num_classes: int,
    *,
    task: str = "multiclass",
    samples: int | None = None,
    weights="pretrained",
    augmentation=None,
    pooling: str = "avg",
    dropout: float = 0.2,
    hidden_units: Sequence[int] = (),
    l1: float = 0.0,
    l2: float = 0.0,
    name: str | None = None,
) -> keras.Model:
    """A functional `keras.Model`: a batch of 16 kHz mono waveforms in, task predictions out.

    `kft.build` calls this for audio backbones; see its arguments (`samples` is its
    `input_shape=(samples,)`). The model is: float32 waveform input `(batch, samples)` (any
    length when `samples` is None; a fixed length lets the feature cache run) -> waveform augmentation (training only)
    -> `LogMel` (96 bands; clips under 1.04 s are zero-padded) -> SpecAugment (training
    only) -> the frozen musicnn network (blocks `block1` .. `block5`) -> head (global pooling
    over time and frequency, dropout, dense).
    """
    from kerasft.backbones.audio_presets import AUDIO_BACKBONES
    from kerasft.backbones.log_mel import LogMel, frames_for
    from kerasft.backbones.musicnn import MIN_SAMPLES, musicnn_backbone

    key = str(backbone).strip().lower()
    if key not in AUDIO_BACKBONES:  # kft.build only calls with a known name
        raise KerasftError(f"backbone={backbone!r} is not an audio backbone.")
    if weights not in (*_PRETRAINED, None) and not isinstance(weights, str):
        raise KerasftError(
            f"weights={weights!r}: pass 'pretrained' (the default, also spelled 'imagenet': "
            "the MagnaTagATune weights), None (random initialisation) or a .weights.h5 path."
        )
    if samples is not None and (not isinstance(samples, int) or samples < 1):
        raise KerasftError(
            f"input_shape=({samples!r},): an audio model takes (samples,) with samples an "
            "integer >= 1 (the clip length the data pipeline crops or pads to), or (None,)."
        )
    frames = None if samples is None else frames_for(max(samples, MIN_SAMPLES))
    net = musicnn_backbone(weights, frames=frames, name=key)
    net.trainable = False  # phase 1 trains the head only
    wave_layers, spec_layers = split_augmentation(augmentation)
    inputs = keras.Input(shape=(samples,), dtype="float32", name="audio")
    x = inputs
    for layer in wave_layers:
        x = layer(x)
    x = LogMel(min_samples=MIN_SAMPLES, name=FRONT_END_NAME)(x)
    for layer in spec_layers:
        x = layer(x)
    x = net(x, training=False)
    for layer in head_layers(task, num_classes, pooling, dropout, tuple(hidden_units), l1, l2):
        x = layer(x)
    return keras.Model(inputs, x, name=name or f"kft_{net.name}")


def is_audio_model(model: keras.Model) -> bool:
    """True if `model` takes waveforms: its one input is `(batch, samples)` float and it has
    a `LogMel` front end.

    Args:
        model: any Keras model.
    """
    from kerasft.backbones.log_mel import LogMel

    return len(model.inputs) == 1 and any(isinstance(layer, LogMel) for layer in model.layers)
