"""musicnn's real MagnaTagATune weights: the import is exact, the tags fit real recordings, and
a short fine-tune on real KLettres clips learns spoken languages.

Needs `kerasft weights import musicnn` and `kerasft data prepare spoken_languages` / `prompts
--languages en` (`make assets`); a missing one fails the test with the command to run.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import soundfile as sf
from audio_corpora import prepared

import kerasft as kft
from kerasft.backbones.audio_presets import musicnn_files
from kerasft.backbones.musicnn import MTT_TAGS, musicnn_backbone, musicnn_tagger, top_tags
from kerasft.data.audio_files import read_audio
from kerasft.pypi_files import find_pinned
from kerasft.weights.musicnn import WHEEL, read_checkpoint

VOICE = {"voice", "vocal", "vocals", "female", "female voice", "female vocal", "woman", "male",
         "male voice", "male vocal", "man", "singing"}  # fmt: skip


@pytest.fixture(scope="module")
def weights():
    if not musicnn_files().backbone.is_file():
        pytest.fail("musicnn's weights are missing: run `kerasft weights import musicnn`.")
    return musicnn_files()


@pytest.fixture(scope="module")
def tagger(weights):
    return musicnn_tagger()


def test_import_wrote_the_checkpoints_weights(weights):
    tensors = read_checkpoint(find_pinned(WHEEL, download=False))
    assert sum(int(np.prod(t.shape)) for t in tensors.values()) == 607_030
    net = musicnn_backbone()
    np.testing.assert_array_equal(
        net.get_layer("block3_conv").kernel.numpy(), tensors["3CNN/kernel"]
    )
    bn = net.get_layer("block5_bn")
    np.testing.assert_array_equal(
        bn.moving_variance.numpy(), tensors["batch_normalization_5/moving_variance"]
    )
    head = np.load(weights.tags)
    np.testing.assert_array_equal(head["kernel"], tensors["dense/kernel"])
    assert len(MTT_TAGS) == head["kernel"].shape[1] == 50


def _long_prompts(count: int):
    folder = prepared("prompts") / "en"
    files = sorted(p for p in folder.glob("*.wav") if sf.info(p).duration >= 3.2)
    assert len(files) >= count, f"{folder} has only {len(files)} prompts of 3.2 s or more"
    return files[:count]


def test_spoken_prompts_get_voice_tags_and_white_noise_does_not(tagger):
    for path in _long_prompts(6):
        tags = [tag for tag, _ in top_tags(read_audio(path), 5, tagger)]
        assert VOICE & set(tags), f"{path.name}: top tags {tags}"
        assert "vocal" in tags or "voice" in tags, f"{path.name}: top tags {tags}"
    noise = np.random.default_rng(0).normal(0, 0.1, 6 * 16000).astype("float32")
    tags = [tag for tag, _ in top_tags(noise, 5, tagger)]
    assert not VOICE & set(tags), tags
    assert {"loud", "techno", "rock", "electronic", "fast"} & set(tags), tags


def test_short_fine_tune_on_real_spoken_letters_learns_the_languages(weights):
    data = kft.data.from_audio_folder(
        prepared("spoken_languages"),
        class_names=["de", "en", "fr", "ru"],
        validation_split=0.15,
        test_split=0.25,
        seed=0,
    )
    (x, y), (xv, yv), (xt, yt) = (data.arrays[s] for s in ("train", "val", "test"))
    keras.utils.set_random_seed(0)
    model = kft.build("musicnn", 4, input_shape=data.info.input_shape)
    history = kft.fine_tune(
        model, (x, y), (xv, yv), epochs=(15, 3), unfreeze_blocks=2, batch_size=32, verbose=0
    )
    assert len(history.epoch) == 18
    accuracy = float(np.mean(np.argmax(model.predict(xt, verbose=0), -1) == yt))
    # Measured 0.97 (62 of 64 test clips) with 4 classes (chance 0.25).
    assert accuracy >= 0.85, accuracy
