"""musicnn's MagnaTagATune VGG rebuilt in Keras 3: log-mel spectrograms in, five conv blocks.

Pons and Serra's musicnn (ISC licence) ships the network as a TF1 checkpoint
(`musicnn/MTT_vgg/`, 607,030 weights: trained on MagnaTagATune's 50 music tags, 3-second
patches of 187 frames of 96 log-mel bands at 16 kHz). This module holds the Keras 3 network
with musicnn's own layer sizes: an input batch norm, then five blocks of 3x3 conv (128
filters, ReLU) -> batch norm -> max pooling ((4, 1), (2, 2), (2, 2), (2, 2), (4, 4)); the
pretrained tag layer reads the flattened last pooling of one patch. kerasft's backbone stops
after `block5_pool` (any clip of at least `MIN_SAMPLES` samples), and the head pools it.
musicnn's dropout layers are left out: the head has its own, and a frozen backbone must
compute the same features every time (the feature cache relies on it).

`kerasft weights import musicnn` writes the weights (`kerasft/weights/musicnn.py`).

>>> from kerasft.backbones.musicnn import musicnn_backbone, MIN_SAMPLES
>>> net = musicnn_backbone(weights=None)
>>> net.input_shape, net.output_shape
((None, None, 96), (None, None, 1, 128))
>>> MIN_SAMPLES / 16000
1.04
"""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np

from kerasft.backbones.audio_presets import musicnn_files
from kerasft.backbones.log_mel import HOP_LENGTH, N_MELS, SAMPLE_RATE, LogMel, frames_for
from kerasft.backbones.spec import BlockPattern
from kerasft.errors import KerasftError

FILTERS = 128
#: musicnn's pooling after each conv block: (pool size, strides) over (frames, mel bands).
POOLS = (((4, 1), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)), ((4, 4), (4, 4)))
#: The frames of one training patch of the pretrained tagger (3 s at 16 kHz, hop 256).
PATCH_FRAMES = 187
#: The shortest clip whose last pooling still has one frame: 66 frames (1.04 s).
MIN_SAMPLES = 65 * HOP_LENGTH
#: The blocks `kft.freeze`/`kft.unfreeze` count: `input_bn` is the stem.
MUSICNN_BLOCKS = (BlockPattern(r"^(block\d+)_", "{}"),)

MTT_TAGS = (
    "guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock",
    "fast", "piano", "ambient", "beat", "violin", "vocal", "synth", "female", "indian",
    "opera", "male", "singing", "vocals", "no vocals", "harpsichord", "loud", "quiet",
    "flute", "woman", "male vocal", "no vocal", "pop", "soft", "sitar", "solo", "man",
    "classic", "choir", "voice", "new age", "dance", "male voice", "female vocal", "beats",
    "harp", "cello", "no voice", "weird", "country", "metal", "female voice", "choral",
)  # fmt: skip


def musicnn_backbone(
    weights="pretrained", *, frames: int | None = None, name: str = "musicnn"
) -> keras.Model:
    """The headless network: `(batch, frames, 96)` log-mel spectrograms -> block 5's pooled
    feature map `(batch, time, 1, 128)` (one step per about 0.26 s of audio).

    Args:
        weights: "pretrained" (also spelled "imagenet", the builder's default: the
            MagnaTagATune weights from `kerasft weights import musicnn`), None (random
            initialisation) or the path of a `.weights.h5` file saved from this network.
        frames: spectrogram frames per example; None takes any number (a fixed number gives
            every block a fixed output shape, which a feature cache inside the network needs).
        name: the model's name.
    """
    inputs = keras.Input((frames, N_MELS), name="log_mel")
    x = keras.layers.Reshape((-1, N_MELS, 1), name="add_channel")(inputs)
    x = keras.layers.BatchNormalization(name="input_bn")(x)
    for number, (pool, strides) in enumerate(POOLS, start=1):
        x = keras.layers.Conv2D(
            FILTERS, 3, padding="same", activation="relu", name=f"block{number}_conv"
        )(x)
        x = keras.layers.BatchNormalization(name=f"block{number}_bn")(x)
        x = keras.layers.MaxPooling2D(pool, strides, name=f"block{number}_pool")(x)
    net = keras.Model(inputs, x, name=name)
    if weights in ("pretrained", "imagenet"):
        net.load_weights(_weights_file())
    elif weights is not None:
        try:
            net.load_weights(str(weights))
        except (ValueError, KeyError, OSError) as err:
            raise KerasftError(
                f"weights={str(weights)!r} does not fit the musicnn backbone "
                f"({str(err).splitlines()[0][:160]}). Pass 'pretrained', None, or a file saved "
                "with musicnn_backbone(...).save_weights('x.weights.h5')."
            ) from None
    return net


def _weights_file() -> Path:
    files = musicnn_files()
    if not files.backbone.is_file():
        raise KerasftError(
            f"backbone='musicnn': its weights are not here yet ({files.backbone} is missing). "
            "Run `kerasft weights import musicnn` once (it fetches them from PyPI)."
        )
    return files.backbone


def musicnn_tagger(weights="pretrained") -> keras.Model:
    """musicnn's own tagger: `(batch, 187, 96)` spectrogram patches -> 50 MagnaTagATune tag
    probabilities (sigmoid), as the checkpoint was trained.

    Args:
        weights: "pretrained" (after `kerasft weights import musicnn`) or None.
    """
    net = musicnn_backbone(weights)
    patch = keras.Input((PATCH_FRAMES, N_MELS), name="patch")
    x = keras.layers.Flatten(name="flatten")(net(patch))
    outputs = keras.layers.Dense(len(MTT_TAGS), activation="sigmoid", name="tags")(x)
    tagger = keras.Model(patch, outputs, name="musicnn_tagger")
    if weights is not None:
        head = np.load(musicnn_files().tags)
        tagger.get_layer("tags").set_weights([head["kernel"], head["bias"]])
    return tagger


def patches(waveform: np.ndarray, *, frames: int = PATCH_FRAMES) -> np.ndarray:
    """A mono 16 kHz waveform's log-mel spectrogram cut into `(n, frames, 96)` patches,
    end to end without overlap as musicnn tags (the tail shorter than a patch is dropped).

    Args:
        waveform: float samples at 16 kHz, at least `frames` frames long (3 s for 187).
        frames: frames per patch.
    """
    waveform = np.asarray(waveform, dtype=np.float32).reshape(-1)
    if frames_for(len(waveform)) < frames:
        raise KerasftError(
            f"waveform of {len(waveform)} samples ({len(waveform) / SAMPLE_RATE:.2f} s) is "
            f"shorter than one tagging patch of {frames} frames "
            f"({(frames - 1) * HOP_LENGTH / SAMPLE_RATE:.2f} s at {SAMPLE_RATE} Hz)."
        )
    spectrogram = keras.ops.convert_to_numpy(LogMel()(waveform[None]))[0]
    count = len(spectrogram) // frames
    return spectrogram[: count * frames].reshape(count, frames, N_MELS)


def top_tags(waveform: np.ndarray, k: int = 5, tagger: keras.Model | None = None):
    """The `k` MagnaTagATune tags musicnn gives a clip, most likely first, as
    `[(tag, probability), ...]` (probabilities averaged over the clip's 3-second patches).

    Args:
        waveform: a mono waveform at 16 kHz of at least 3 seconds.
        k: how many tags.
        tagger: a `musicnn_tagger()` to reuse; built when None.
    """
    tagger = tagger or musicnn_tagger()
    probabilities = tagger.predict(patches(waveform), verbose=0).mean(axis=0)
    order = np.argsort(-probabilities)[:k]
    return [(MTT_TAGS[i], float(probabilities[i])) for i in order]


def write_tag_head(kernel: np.ndarray, bias: np.ndarray, path: Path) -> None:
    """Save the pretrained tag layer (and the tag names) beside the backbone's weights.

    Args:
        kernel: the `(256, 50)` dense kernel.
        bias: the `(50,)` bias.
        path: the `.npz` file to write.
    """
    np.savez(path, kernel=kernel, bias=bias, tags=np.array(json.dumps(list(MTT_TAGS))))
