"""Audio augmentation layers: measured effects in training, identity at inference, saving."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerasft.augment as kaug
from kerasft.augment.audio import AddNoise, RandomGain, RandomTimeShift, SpecAugment
from kerasft.errors import KerasftError

ROOT = Path(__file__).resolve().parents[1]
RATE = 16_000


@pytest.fixture(scope="module")
def waves():
    """16 one-second clips: tones of different pitch and level plus a little noise."""
    rng = np.random.default_rng(0)
    t = np.arange(RATE, dtype=np.float32) / RATE
    freqs = rng.uniform(100, 2000, (16, 1))
    levels = rng.uniform(0.05, 0.8, (16, 1))
    x = levels * np.sin(2 * np.pi * freqs * t) + 0.01 * rng.standard_normal((16, RATE))
    return x.astype(np.float32)


@pytest.fixture(scope="module")
def spectrograms():
    """8 log-mel-like spectrograms (batch, frames, 96 mels), no cell equal to 0 or the mean."""
    rng = np.random.default_rng(1)
    return rng.uniform(-12.0, -1.0, (8, 100, 96)).astype(np.float32)


def _rms(x):
    return np.sqrt(np.mean(np.square(x, dtype=np.float64), axis=tuple(range(1, x.ndim))))


def _runs(flags):
    """(start, width) of each run of True in a 1-D boolean array."""
    runs, start = [], None
    for i, flag in enumerate(list(flags) + [False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            runs.append((start, i - start))
            start = None
    return runs


def _shifted(x, s):
    out = np.zeros_like(x)
    if s >= 0:
        out[s:] = x[: len(x) - s]
    else:
        out[:s] = x[-s:]
    return out


ALL = [
    lambda: RandomGain(seed=1),
    lambda: RandomTimeShift(seed=1),
    lambda: AddNoise(seed=1),
    lambda: SpecAugment(seed=1),
]


@pytest.mark.parametrize("make", ALL, ids=["gain", "shift", "noise", "spec"])
def test_identity_at_inference_and_changed_in_training(make, waves, spectrograms):
    layer = make()
    x = spectrograms if isinstance(layer, SpecAugment) else waves
    for training in (False, None):
        np.testing.assert_array_equal(np.asarray(layer(x, training=training)), x)
    np.testing.assert_array_equal(np.asarray(layer(x)), x)
    trained = np.asarray(layer(x, training=True))
    assert trained.shape == x.shape and trained.dtype == np.float32
    changed = [not np.array_equal(a, b) for a, b in zip(trained, x)]
    assert sum(changed) >= len(x) - 1, changed  # per example (a shift or mask may draw 0)


def test_gain_is_within_the_stated_db_range_per_example(waves):
    x = np.concatenate([waves] * 8)  # 128 draws
    y = np.asarray(RandomGain(-4.0, 2.0, seed=3)(x, training=True))
    db = 20 * np.log10(_rms(y) / _rms(x))
    assert db.min() >= -4.0 - 1e-4 and db.max() <= 2.0 + 1e-4, (db.min(), db.max())
    # Uniform over the range: both ends are reached and the gains differ between examples.
    assert db.min() < -3.0 and db.max() > 1.0 and np.std(db) > 1.0, db
    # One gain per example: the ratio is the same at every sample.
    ratio = y[:, ::997] / x[:, ::997]
    np.testing.assert_allclose(ratio, ratio[:, :1] * np.ones_like(ratio), rtol=1e-4)


def test_shift_is_bounded_and_moves_the_content_with_zero_fill(waves):
    x = waves[:, :4000]
    max_shift = int(0.1 * 4000)
    y = np.asarray(RandomTimeShift(0.1, seed=2)(np.concatenate([x] * 4), training=True))
    shifts = []
    for i, row in enumerate(y):
        original = x[i % len(x)]
        found = [
            s
            for s in range(-max_shift, max_shift + 1)
            if np.array_equal(row, _shifted(original, s))
        ]
        assert len(found) == 1, f"example {i}: output is no zero-filled shift of ±{max_shift}"
        shifts.append(found[0])
    shifts = np.array(shifts)
    assert (shifts > 0).any() and (shifts < 0).any()
    assert np.abs(shifts).max() > max_shift // 2, shifts
    assert len(set(shifts.tolist())) > 40  # per example, not one shift for the batch


def test_shift_of_channels_last_waveforms_moves_all_channels_together(waves):
    x = np.stack([waves[:4, :1000], -waves[:4, :1000]], axis=-1)  # (4, 1000, 2)
    y = np.asarray(RandomTimeShift(0.2, seed=5)(x, training=True))
    np.testing.assert_array_equal(y[..., 1], -y[..., 0])
    assert not np.array_equal(y, x)


def test_noise_snr_is_within_the_stated_bounds(waves):
    x = np.concatenate([waves] * 4)
    y = np.asarray(AddNoise(12.0, 30.0, seed=4)(x, training=True))
    noise = y.astype(np.float64) - x
    snr = 20 * np.log10(_rms(x) / _rms(noise))
    assert snr.min() >= 12.0 - 0.01 and snr.max() <= 30.0 + 0.01, (snr.min(), snr.max())
    assert snr.min() < 14.0 and snr.max() > 28.0 and np.std(snr) > 3.0, snr
    # Gaussian, white: about zero mean, no correlation with the signal.
    assert abs(noise.mean()) < 0.01 * noise.std()
    assert abs(np.corrcoef(noise[0], x[0])[0, 1]) < 0.05


def test_noise_snr_is_exact_even_on_short_clips(waves):
    # 64 samples: noise drawn at a set deviation would land a dB or more off; it is rescaled.
    x = waves[:, :64]
    noise = np.asarray(AddNoise(20.0, 20.0, seed=6)(x, training=True)).astype(np.float64) - x
    np.testing.assert_allclose(20 * np.log10(_rms(x) / _rms(noise)), 20.0, atol=0.01)


def test_noise_leaves_silence_silent():
    x = np.zeros((2, 800), np.float32)
    np.testing.assert_array_equal(np.asarray(AddNoise(seed=0)(x, training=True)), x)


def test_spec_augment_masks_the_stated_bands(spectrograms):
    x = np.concatenate([spectrograms] * 4)  # 32 examples of 100 frames, 96 bins
    layer = SpecAugment(time_masks=2, time_width=0.1, freq_masks=2, freq_width=8, mask_value=0)
    y = np.asarray(layer(x, training=True))
    widest_time = widest_freq = 0
    for row, original in zip(y, x):
        zero = row == 0
        masked_frames = zero.all(axis=1)
        masked_bins = zero.all(axis=0)
        # Every zero lies in a fully masked frame or bin; the rest is untouched.
        np.testing.assert_array_equal(zero, masked_frames[:, None] | masked_bins[None, :])
        np.testing.assert_array_equal(row[~zero], original[~zero])
        time_runs, freq_runs = _runs(masked_frames), _runs(masked_bins)
        assert len(time_runs) <= 2 and masked_frames.sum() <= 2 * 10, time_runs
        assert len(freq_runs) <= 2 and masked_bins.sum() <= 2 * 8, freq_runs
        widest_time = max([widest_time] + [w for _, w in time_runs])
        widest_freq = max([widest_freq] + [w for _, w in freq_runs])
    assert widest_time >= 8 and widest_freq >= 6, (widest_time, widest_freq)


def test_spec_augment_one_band_each_is_at_most_its_width(spectrograms):
    layer = SpecAugment(time_masks=1, time_width=0.05, freq_masks=1, freq_width=4, mask_value=0)
    y = np.asarray(layer(np.concatenate([spectrograms] * 4), training=True))
    for row in y:
        time_runs = _runs((row == 0).all(axis=1))
        freq_runs = _runs((row == 0).all(axis=0))
        assert len(time_runs) <= 1 and all(w <= 5 for _, w in time_runs), time_runs
        assert len(freq_runs) <= 1 and all(w <= 4 for _, w in freq_runs), freq_runs


def test_spec_augment_masks_with_the_example_mean_by_default(spectrograms):
    x = spectrograms[..., None]  # (batch, frames, bins, 1)
    y = np.asarray(SpecAugment(seed=7)(x, training=True))
    assert y.shape == x.shape
    means = x.mean(axis=(1, 2, 3))
    for row, original, mean in zip(y, x, means):
        changed = row != original
        assert changed.any()
        np.testing.assert_allclose(row[changed], mean, rtol=1e-5)


def test_seeded_layers_repeat_and_seeds_differ(waves, spectrograms):
    for make in (RandomGain, RandomTimeShift, AddNoise, SpecAugment):
        x = spectrograms if make is SpecAugment else waves
        a = np.asarray(make(seed=11)(x, training=True))
        b = np.asarray(make(seed=11)(x, training=True))
        c = np.asarray(make(seed=12)(x, training=True))
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c), make.__name__


def test_variable_length_inputs_and_any_batch_size(waves, spectrograms):
    wave_in = keras.Input((None,))
    wave_out = AddNoise(seed=0)(RandomTimeShift(seed=0)(RandomGain(seed=0)(wave_in)))
    model = keras.Model(wave_in, wave_out)
    spec_in = keras.Input((None, 96))
    spec_model = keras.Model(spec_in, SpecAugment(seed=0)(spec_in))

    @tf.function(input_signature=[tf.TensorSpec((None, None), tf.float32)])
    def train_step_waves(x):
        return model(x, training=True)

    @tf.function(input_signature=[tf.TensorSpec((None, None, 96), tf.float32)])
    def train_step_specs(x):
        return spec_model(x, training=True)

    for batch, samples in ((1, 1600), (3, 8000), (5, 16000)):
        out = train_step_waves(waves[:batch, :samples]).numpy()
        assert out.shape == (batch, samples) and np.isfinite(out).all()
        assert not np.array_equal(out, waves[:batch, :samples])
    for batch, frames in ((1, 30), (4, 100)):
        out = train_step_specs(spectrograms[:batch, :frames]).numpy()
        assert out.shape == (batch, frames, 96)
        assert not np.array_equal(out, spectrograms[:batch, :frames])


def test_float32_compute_under_mixed_float16(waves):
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        layers = [
            RandomGain(seed=0),
            RandomTimeShift(seed=0),
            AddNoise(seed=0),
            SpecAugment(seed=0),
        ]
    finally:
        keras.mixed_precision.set_global_policy("float32")
    # Loud clips: their mean square (about 20,000) times 16,000 samples overflows float16.
    x = 200.0 * waves[:4]
    out = x
    for layer in layers[:3]:
        assert layer.compute_dtype == "float32"
        out = layer(out, training=True)
    out = np.asarray(out)
    assert out.dtype == np.float32 and np.isfinite(out).all()
    snr = 20 * np.log10(_rms(x) / _rms(np.asarray(layers[2](x, training=True)) - x))
    assert (snr >= 10 - 0.01).all() and (snr <= 40 + 0.01).all(), snr
    spec = np.asarray(
        layers[3](tf.cast(x[:, :9600].reshape(4, 100, 96), tf.float16), training=True)
    )
    assert spec.dtype == np.float32 and np.isfinite(spec).all()


@pytest.mark.parametrize(
    "layer",
    [
        RandomGain(-3.0, 1.5, seed=2, name="g"),
        RandomTimeShift(0.25, seed=3),
        AddNoise(5.0, 25.0, seed=None),
        SpecAugment(3, 0.2, 1, 12, mask_value=0.0, seed=4),
        SpecAugment(mask_value="mean"),
    ],
    ids=["gain", "shift", "noise", "spec", "spec-mean"],
)
def test_get_config_round_trip(layer):
    config = layer.get_config()
    again = type(layer).from_config(config)
    assert again.get_config() == config
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(restored) is type(layer) and restored.get_config() == config


def test_bad_arguments_name_the_value_and_the_fix():
    with pytest.raises(KerasftError, match="min 6.0 is above max -6.0; swap"):
        RandomGain(6, -6)
    with pytest.raises(KerasftError, match=r"max_fraction=1.5 must be in \[0, 1\)"):
        RandomTimeShift(1.5)
    with pytest.raises(KerasftError, match="AddNoise SNR: min 40.0 is above max 10.0"):
        AddNoise(40, 10)
    with pytest.raises(KerasftError, match="time_width=8 is a fraction"):
        SpecAugment(time_width=8)
    with pytest.raises(KerasftError, match="mask_value='median' must be 'mean' or a number"):
        SpecAugment(mask_value="median")
    with pytest.raises(KerasftError, match=r"takes waveforms \(batch, samples\)"):
        RandomGain()(np.zeros((2, 10, 4, 1), np.float32), training=True)
    with pytest.raises(KerasftError, match=r"takes spectrograms \(batch, frames, bins\)"):
        SpecAugment()(np.zeros((2, 10), np.float32), training=True)


def test_saved_model_reloads_in_a_fresh_process(tmp_path, waves):
    inputs = keras.Input((None,))
    x = inputs
    for layer in kaug.audio_augmentation("default", seed=0):
        x = layer(x)
    frames = keras.layers.Reshape((-1, 16))(x)  # a stand-in front end: 16-sample frames
    x = kaug.spec_augmentation("light", seed=5)[0](frames)
    outputs = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling1D()(x))
    model = keras.Model(inputs, outputs)
    path = tmp_path / "audio.keras"
    model.save(path)
    clip = waves[:2, :1600]
    np.save(tmp_path / "clip.npy", clip)
    np.save(tmp_path / "expected.npy", np.asarray(model(clip)))
    code = (
        "import sys, numpy as np, keras\n"
        "import kerasft.augment.audio\n"
        f"d = {str(tmp_path)!r}\n"
        "m = keras.saving.load_model(d + '/audio.keras')\n"
        "names = [type(layer).__name__ for layer in m.layers]\n"
        "np.testing.assert_allclose(m(np.load(d + '/clip.npy')), np.load(d + '/expected.npy'), atol=1e-6)\n"
        "print(names, m.get_layer('aug_noise').get_config()['min_snr_db'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (
        "['InputLayer', 'RandomGain', 'RandomTimeShift', 'AddNoise', 'Reshape', 'SpecAugment', "
        "'GlobalAveragePooling1D', 'Dense'] 10.0"
    ) in done.stdout, done.stdout


def test_in_a_tf_data_pipeline_and_a_fit_step(waves):
    layers = kaug.audio_augmentation("light", seed=0)

    def augment(x, y):
        for layer in layers:
            x = layer(x, training=True)
        return x, y

    labels = (np.arange(16) % 2).astype(np.int32)
    ds = tf.data.Dataset.from_tensor_slices((waves[:, :1600], labels)).batch(4).map(augment)
    batches = [x.numpy() for x, _ in ds]
    assert [b.shape for b in batches] == [(4, 1600)] * 4
    assert not np.array_equal(np.concatenate(batches), waves[:, :1600])

    inputs = keras.Input((None,))
    x = inputs
    for layer in kaug.audio_augmentation("default", seed=1):
        x = layer(x)
    x = kaug.spec_augmentation("default", seed=2)[0](keras.layers.Reshape((-1, 32))(x))
    outputs = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling1D()(x))
    model = keras.Model(inputs, outputs)
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    state = [np.array(v) for v in model.non_trainable_variables]
    history = model.fit(ds, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()
    # The layers drew in training: their seed generators moved on.
    after = [np.array(v) for v in model.non_trainable_variables]
    assert len(state) >= 4 and all(not np.array_equal(a, b) for a, b in zip(state, after))
    # At inference the model sees the clean clips: predictions repeat exactly.
    clip = waves[:3, :1600]
    np.testing.assert_array_equal(model.predict(clip, verbose=0), model.predict(clip, verbose=0))


def test_strengths_and_dicts():
    assert kaug.audio_augmentation("none") == [] and kaug.spec_augmentation(None) == []
    light = kaug.audio_augmentation("Light", seed=3)
    assert [(type(a).__name__, a.seed) for a in light] == [
        ("RandomGain", 3),
        ("RandomTimeShift", 4),
        ("AddNoise", 5),
    ]
    assert (light[0].min_db, light[0].max_db, light[1].max_fraction) == (-3.0, 3.0, 0.05)
    default = kaug.audio_augmentation()
    assert (default[0].max_db, default[1].max_fraction, default[2].min_snr_db) == (6.0, 0.1, 10.0)
    [gain] = kaug.audio_augmentation({"gain_db": 3})
    assert (gain.min_db, gain.max_db) == (-3.0, 3.0)
    [spec] = kaug.spec_augmentation({"freq_masks": 1, "mask_value": 0.0})
    assert (spec.time_masks, spec.freq_masks, spec.mask_value) == (2, 1, 0.0)
    [spec] = kaug.spec_augmentation()
    assert (spec.time_masks, spec.time_width, spec.freq_width, spec.mask_value) == (
        2,
        0.1,
        8,
        "mean",
    )
    with pytest.raises(KerasftError, match="Did you mean 'light'"):
        kaug.audio_augmentation("lihgt")
    with pytest.raises(KerasftError, match="Did you mean 'snr_db'"):
        kaug.audio_augmentation({"snr": (1, 2)})
    with pytest.raises(KerasftError, match="Did you mean 'freq_masks'"):
        kaug.spec_augmentation({"freq_mask": 1})


def test_layers_compile_with_xla(waves, spectrograms):
    # model.fit on a GPU compiles with XLA by default (jit_compile="auto").
    wave_layers = kaug.audio_augmentation("default", seed=0)
    [spec] = kaug.spec_augmentation("default", seed=1)

    @tf.function(jit_compile=True)
    def step(x, s):
        for layer in wave_layers:
            x = layer(x, training=True)
        return x, spec(s, training=True)

    x, s = step(waves[:4, :3200], spectrograms[:4])
    assert x.shape == (4, 3200) and s.shape == (4, 100, 96)
    assert np.isfinite(x.numpy()).all() and not np.array_equal(s.numpy(), spectrograms[:4])
