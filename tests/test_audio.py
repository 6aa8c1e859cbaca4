"""Audio models on a randomly initialised musicnn: the front end, the builder, the cache, export.

The front end is checked against librosa's own log-mel (`tests/data/librosa_log_mel.npz`,
written once with librosa 0.11.0, which kerasft does not depend on). The pretrained weights
are tested in tests/test_audio_musicnn.py.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

import kerasft as kft
from kerasft.backbones.log_mel import LogMel, frames_for, mel_filter_bank
from kerasft.backbones.musicnn import MIN_SAMPLES, musicnn_backbone
from kerasft.cache import CachedRunner
from kerasft.errors import KerasftError

REFERENCE = Path(__file__).parent / "data" / "librosa_log_mel.npz"
SR = 16000


def tones(n: int, seconds: float = 1.5, seed: int = 0):
    """Noisy tones whose class is the pitch (300 Hz, 1 kHz or 3 kHz), with random phase."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    t = np.arange(int(seconds * SR)) / SR
    freqs = np.array([300.0, 1000.0, 3000.0])[y][:, None] * (1 + 0.03 * rng.normal(size=(n, 1)))
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    x = 0.3 * np.sin(2 * np.pi * freqs * t + phase) + 0.05 * rng.normal(size=(n, len(t)))
    return x.astype("float32"), y


def make(seed: int = 0, samples: int | None = int(1.5 * SR), **kwargs) -> keras.Model:
    keras.utils.set_random_seed(seed)
    shape = (samples,) if samples else (None,)
    return kft.build("musicnn", 3, weights=None, input_shape=shape, **kwargs)


def test_log_mel_matches_librosa():
    ref = np.load(REFERENCE)
    np.testing.assert_allclose(mel_filter_bank().T, ref["filters"], atol=1e-7)
    ours = keras.ops.convert_to_numpy(LogMel()(ref["waveform"][None]))[0]
    assert ours.shape == ref["log_mel"].shape == (frames_for(SR), 96)
    np.testing.assert_allclose(ours, ref["log_mel"], atol=2e-5)


def test_log_mel_computes_in_float32_under_mixed_precision():
    loud = (0.99 * np.sign(np.sin(np.arange(SR) * 0.3))).astype("float32")[None]
    expected = keras.ops.convert_to_numpy(LogMel()(loud))
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        layer = LogMel()
        got = keras.ops.convert_to_numpy(layer(loud))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert layer.compute_dtype == "float32"
    assert np.isfinite(got).all() and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_build_takes_waveforms_and_names_the_conv_blocks(tmp_path):
    model = make()
    assert model.input_shape == (None, int(1.5 * SR))
    assert model.output_shape == (None, 3)
    net = kft.get_backbone(model)
    assert list(kft.backbones.block_map(net)) == ["stem", *(f"block{i}" for i in range(1, 6))]
    assert not net.trainable
    x, _ = tones(4)
    path = tmp_path / "audio.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    np.testing.assert_allclose(
        reloaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6
    )


def test_any_length_model_pads_clips_shorter_than_the_minimum():
    model = make(samples=None)
    short = np.zeros((2, 4000), "float32")  # a quarter second: below the 1.04 s the pools need
    assert model.predict(short, verbose=0).shape == (2, 3)
    front = model.get_layer("kft_log_mel")
    assert front(short).shape[1] == frames_for(MIN_SAMPLES)


def test_unfreeze_keeps_batch_norm_frozen_unless_train_bn():
    model = make()
    kft.unfreeze(model, 2, train_bn=False)
    assert kft.trainable_blocks(model) == ["block4", "block5"]
    net = kft.get_backbone(model)
    assert net.get_layer("block5_conv").trainable and not net.get_layer("block5_bn").trainable
    assert not net.get_layer("block3_conv").trainable


def _train(cached: bool, **kw):
    (x, y), (xv, yv) = tones(48), tones(12, seed=1)
    model = make(dropout=0.0)
    runner = CachedRunner("memory", verbose=0) if cached else "off"
    history = kft.fine_tune(
        model, (x, y), (xv, yv), epochs=(3, 2), unfreeze_blocks=2, batch_size=16, lr=1e-2, ft_lr=1e-3,
        verbose=0, cache=runner, **kw,
    )  # fmt: skip
    return model, history, runner


def test_cached_audio_phases_equal_the_plain_fit():
    plain, h_plain, _ = _train(cached=False)
    cached, h_cached, runner = _train(cached=True)
    assert runner.report == {
        1: "cached at kft_head_pool (128,)",
        2: "cached at block3 (11, 12, 128)",
    }
    assert h_plain.history["loss"][-1] < h_plain.history["loss"][0] - 0.05  # it learns
    # Phase 1 (the head on pooled features) matches batch for batch; in phase 2 the plain
    # fit's fused convolutions round differently and Adam carries that on (7e-4 by epoch 5).
    np.testing.assert_allclose(h_cached.history["loss"][:3], h_plain.history["loss"][:3], rtol=1e-5)
    np.testing.assert_allclose(h_cached.history["loss"], h_plain.history["loss"], rtol=2e-3)
    diffs = [float(np.abs(a - b).max()) for a, b in zip(plain.get_weights(), cached.get_weights())]
    assert max(diffs) < 1e-2
    untouched = make(dropout=0.0)
    conv = lambda m, name: kft.get_backbone(m).get_layer(name).kernel.numpy()  # noqa: E731
    assert np.abs(conv(cached, "block5_conv") - conv(untouched, "block5_conv")).max() > 1e-4
    np.testing.assert_array_equal(conv(cached, "block3_conv"), conv(untouched, "block3_conv"))


def test_any_length_model_caches_pooled_features_only_and_says_why(capsys):
    (x, y) = tones(16)
    model = make(samples=None)
    runner = CachedRunner("memory", verbose=1)
    kft.fine_tune(
        model, (x, y), epochs=(1, 1), unfreeze_blocks=2, batch_size=8, verbose=0, cache=runner
    )
    # Pooling fixes the head's input size; the conv blocks' maps need a fixed clip length.
    assert runner.report[1] == "cached at kft_head_pool (128,)"
    assert "input_shape=(samples,)" in capsys.readouterr().out
    assert 2 not in runner.report or not runner.report[2].startswith("cached")


def test_audio_errors_name_the_fix(tmp_path, monkeypatch):
    with pytest.raises(KerasftError, match="audio backbone: image_size"):
        kft.build("musicnn", 3, weights=None, image_size=96)
    with pytest.raises(KerasftError, match=r"input_shape=\(0,\)"):
        kft.build("musicnn", 3, weights=None, input_shape=(0,))
    monkeypatch.setenv("KERASFT_WEIGHTS", str(tmp_path))
    with pytest.raises(KerasftError, match="kerasft weights import musicnn"):
        kft.build("musicnn", 3)
    with pytest.raises(KerasftError, match="does not fit the musicnn backbone"):
        keras.applications.MobileNet(weights=None, input_shape=(32, 32, 3)).save_weights(
            tmp_path / "m.weights.h5"
        )
        musicnn_backbone(weights=str(tmp_path / "m.weights.h5"))
    model = make()
    with pytest.raises(KerasftError, match="waveforms"):
        kft.fine_tune(model, (np.zeros((4, 100, 2), "float32"), np.arange(4) % 3), verbose=0)
    bad = tones(4)[0]
    bad[1, 5] = np.nan
    with pytest.raises(KerasftError, match="NaN"):
        kft.fine_tune(model, (bad, np.arange(4) % 3), verbose=0)


def test_audio_model_exports_a_savedmodel_that_takes_waveforms(tmp_path):
    import tensorflow as tf

    model = make()
    x, _ = tones(3)
    exported = kft.export(model, tmp_path / "sm")
    assert exported.input_shape == (None, int(1.5 * SR))
    reloaded = tf.saved_model.load(str(tmp_path / "sm"))
    served = reloaded.serve(tf.constant(x))
    np.testing.assert_allclose(served.numpy(), model.predict(x, verbose=0), atol=1e-5)


def test_audio_model_exports_to_tflite_with_its_front_end(tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    model = make()
    x, _ = tones(2)
    exported = kft.export(model, tmp_path / "a.tflite", format="tflite")
    interpreter = Interpreter(model_path=str(exported.path))
    (inp,) = interpreter.get_input_details()
    interpreter.resize_tensor_input(inp["index"], [2, x.shape[1]])
    interpreter.allocate_tensors()
    interpreter.set_tensor(inp["index"], x)
    interpreter.invoke()
    got = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    np.testing.assert_allclose(got, model.predict(x, verbose=0), atol=1e-5)
    with pytest.raises(KerasftError, match="int8"):
        kft.export(model, tmp_path / "q.tflite", format="tflite", quantize="int8")
