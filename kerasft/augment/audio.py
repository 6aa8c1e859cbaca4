"""Random audio augmentation layers: gain, time shift and noise on waveforms, SpecAugment.

The waveform layers take raw mono float32 waveforms `(batch, samples)` (or `(batch, samples,
channels)`); `SpecAugment` takes spectrograms `(batch, frames, bins)` or `(batch, frames,
bins, 1)`. Each draws its parameters per example, acts only when called with
`training=True` (at inference, `training` False or None, it returns its input unchanged, so it
can stay inside a saved model), accepts any batch size and a time axis of any length (None in
the input shape), and computes in float32 (the layers' dtype is float32 by default, so they
neither overflow nor lose precision under a `mixed_float16` policy). Reloading a saved model
that holds them needs `import kerasft.augment.audio` first (it registers them).

Example:

```python
waveforms = keras.Input((None,))
x = kft.augment.RandomGain(-6, 6)(waveforms)
x = kft.augment.RandomTimeShift(0.1)(x)
x = kft.augment.AddNoise(10, 40)(x)
spectrograms = log_mel(x)                                   # (batch, frames, 96)
spectrograms = kft.augment.SpecAugment()(spectrograms)
```
"""

from __future__ import annotations

import keras
from keras import ops

from kerasft.errors import KerasftError

MASK_VALUES = ("mean",)


class _RandomAudioLayer(keras.layers.Layer):
    """What the audio layers share: a seed generator, float32 compute, identity at inference."""

    def __init__(self, seed: int | None = None, **kwargs):
        # float32 even under a mixed_float16 policy: squared waveforms overflow float16.
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True

    def call(self, inputs, training=None):
        if not training:
            return inputs
        return self.augment(ops.cast(inputs, "float32"))

    def augment(self, inputs):
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        return input_shape

    def _per_example(self, inputs, minval: float, maxval: float):
        """Uniform draws in [minval, maxval), one per example, shaped to broadcast on inputs."""
        shape = (ops.shape(inputs)[0],) + (1,) * (len(inputs.shape) - 1)
        return keras.random.uniform(
            shape, minval=minval, maxval=maxval, dtype="float32", seed=self.seed_generator
        )

    def get_config(self) -> dict:
        return {**super().get_config(), "seed": self.seed}


def _check_range(what: str, low: float, high: float) -> tuple[float, float]:
    low, high = float(low), float(high)
    if low > high:
        raise KerasftError(f"{what}: min {low} is above max {high}; swap them.")
    return low, high


def _check_waveform_rank(layer, inputs) -> None:
    if len(inputs.shape) not in (2, 3):
        raise KerasftError(
            f"{layer.name} takes waveforms (batch, samples) or (batch, samples, channels); got "
            f"shape {tuple(inputs.shape)}."
        )


@keras.saving.register_keras_serializable(package="kerasft", name="RandomGain")
class RandomGain(_RandomAudioLayer):
    """Multiply each waveform by a random gain, drawn uniformly in decibels.

    Each example gets one gain `g` with `20 * log10(g)` uniform in `[min_db, max_db]`, so its
    RMS level changes by that many dB. Identity unless `training=True`.

    Args:
        min_db: the lowest gain, in dB (negative: quieter).
        max_db: the highest gain, in dB.
        seed: seeds the draws (same seed, same gains).
        **kwargs: passed to `keras.layers.Layer` (e.g. `name`).

    Example:

    >>> import numpy as np
    >>> from kerasft.augment.audio import RandomGain
    >>> layer = RandomGain(-6, 6, seed=0)
    >>> x = np.ones((2, 8), "float32")
    >>> bool((np.asarray(layer(x)) == x).all())               # inference: unchanged
    True
    >>> gains = np.asarray(layer(x, training=True))[:, 0]
    >>> bool(((gains >= 10 ** (-6 / 20)) & (gains <= 10 ** (6 / 20))).all())
    True
    """

    def __init__(
        self, min_db: float = -6.0, max_db: float = 6.0, seed: int | None = None, **kwargs
    ):
        super().__init__(seed=seed, **kwargs)
        self.min_db, self.max_db = _check_range("RandomGain dB", min_db, max_db)

    def augment(self, inputs):
        _check_waveform_rank(self, inputs)
        db = self._per_example(inputs, self.min_db, self.max_db)
        return inputs * ops.power(10.0, db / 20.0)

    def get_config(self) -> dict:
        return {**super().get_config(), "min_db": self.min_db, "max_db": self.max_db}


@keras.saving.register_keras_serializable(package="kerasft", name="RandomTimeShift")
class RandomTimeShift(_RandomAudioLayer):
    """Shift each waveform in time by a random number of samples, filling with zeros.

    Each example moves by a whole number of samples, uniform in `[-m, m]` with
    `m = floor(max_fraction * samples)` (of the batch's length): later for a positive shift,
    earlier for a negative one. Samples pushed past either end are dropped and the gap is
    zeros (silence), not the wrapped-around end: a clip does not continue at its start.
    Identity unless `training=True`.

    Args:
        max_fraction: the largest shift, as a fraction of the clip's length, in [0, 1).
        seed: seeds the draws (same seed, same shifts).
        **kwargs: passed to `keras.layers.Layer` (e.g. `name`).

    Example:

    >>> import numpy as np
    >>> from kerasft.augment.audio import RandomTimeShift
    >>> x = np.arange(1, 11, dtype="float32")[None]
    >>> y = np.asarray(RandomTimeShift(0.3, seed=1)(x, training=True))[0]
    >>> k = int((y == 0).sum())                                 # zeros filled in: |shift|
    >>> k <= 3 and (np.array_equal(y[k:], x[0, : 10 - k]) or np.array_equal(y[: 10 - k], x[0, k:]))
    True
    """

    def __init__(self, max_fraction: float = 0.1, seed: int | None = None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.max_fraction = float(max_fraction)
        if not 0 <= self.max_fraction < 1:
            raise KerasftError(
                f"RandomTimeShift max_fraction={max_fraction} must be in [0, 1) (0.1 shifts up "
                "to a tenth of the clip)."
            )

    def augment(self, inputs):
        _check_waveform_rank(self, inputs)
        samples = ops.shape(inputs)[1]
        max_shift = ops.floor(self.max_fraction * ops.cast(samples, "float32"))
        u = keras.random.uniform(
            (ops.shape(inputs)[0], 1), minval=-1.0, maxval=1.0, seed=self.seed_generator
        )
        # Rounding u * (m + 0.5) gives each of the 2m + 1 shifts the same chance.
        shift = ops.cast(ops.round(ops.clip(u * (max_shift + 0.5), -max_shift, max_shift)), "int32")
        source = ops.arange(samples, dtype="int32")[None, :] - shift  # (batch, samples)
        inside = (source >= 0) & (source < samples)
        source = ops.clip(source, 0, samples - 1)
        if len(inputs.shape) == 3:
            source, inside = source[..., None], inside[..., None]
        moved = ops.take_along_axis(inputs, source, axis=1)
        return ops.where(inside, moved, ops.zeros_like(moved))

    def get_config(self) -> dict:
        return {**super().get_config(), "max_fraction": self.max_fraction}


@keras.saving.register_keras_serializable(package="kerasft", name="AddNoise")
class AddNoise(_RandomAudioLayer):
    """Add gaussian noise to each waveform at a random signal-to-noise ratio.

    Each example gets an SNR uniform in `[min_snr_db, max_snr_db]`; its noise is scaled so
    that `10 * log10(mean(signal**2) / mean(noise**2))` is exactly that SNR, over the whole
    clip (zero padding included). A silent clip stays silent. Identity unless `training=True`.

    Args:
        min_snr_db: the lowest SNR, in dB (the noisiest).
        max_snr_db: the highest SNR, in dB (the quietest noise).
        seed: seeds the draws (same seed, same noise).
        **kwargs: passed to `keras.layers.Layer` (e.g. `name`).

    Example:

    >>> import numpy as np
    >>> from kerasft.augment.audio import AddNoise
    >>> x = np.sin(np.linspace(0, 100, 4000, dtype="float32"))[None]
    >>> noise = np.asarray(AddNoise(20, 20, seed=0)(x, training=True)) - x
    >>> round(float(10 * np.log10((x**2).mean() / (noise**2).mean())), 2)
    20.0
    """

    def __init__(
        self,
        min_snr_db: float = 10.0,
        max_snr_db: float = 40.0,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(seed=seed, **kwargs)
        self.min_snr_db, self.max_snr_db = _check_range("AddNoise SNR", min_snr_db, max_snr_db)

    def augment(self, inputs):
        _check_waveform_rank(self, inputs)
        axes = tuple(range(1, len(inputs.shape)))
        snr_db = self._per_example(inputs, self.min_snr_db, self.max_snr_db)
        noise = keras.random.normal(ops.shape(inputs), dtype="float32", seed=self.seed_generator)
        signal_rms = ops.sqrt(ops.mean(ops.square(inputs), axis=axes, keepdims=True))
        noise_rms = ops.sqrt(ops.mean(ops.square(noise), axis=axes, keepdims=True))
        # Scaling by the drawn noise's own RMS makes the SNR the drawn one, not one near it.
        scale = signal_rms / ops.maximum(noise_rms, 1e-12) / ops.power(10.0, snr_db / 20.0)
        return inputs + noise * scale

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "min_snr_db": self.min_snr_db,
            "max_snr_db": self.max_snr_db,
        }


@keras.saving.register_keras_serializable(package="kerasft", name="SpecAugment")
class SpecAugment(_RandomAudioLayer):
    """Mask random bands of frames and of frequency bins of each spectrogram (SpecAugment).

    Each example gets `time_masks` bands of frames, each of a width uniform in `[0, W]` with
    `W = floor(time_width * frames)` (of the batch's length), and `freq_masks` bands of bins,
    each of a width uniform in `[0, freq_width]`, at uniform positions inside the spectrogram
    (bands may overlap). Masked cells take `mask_value`: "mean", the example's own mean (the
    default: a log-mel spectrogram's 0 is a loud value, its mean is not), or a number such as
    0.0 (for normalized spectrograms). Time warping is not done. Identity unless
    `training=True`.

    Args:
        time_masks: bands of frames masked per example.
        time_width: the widest band of frames, as a fraction of the frames, in [0, 1].
        freq_masks: bands of frequency bins masked per example.
        freq_width: the widest band of bins, in bins.
        mask_value: "mean" (each example's mean) or a number.
        seed: seeds the draws (same seed, same masks).
        **kwargs: passed to `keras.layers.Layer` (e.g. `name`).

    Example:

    >>> import numpy as np
    >>> from kerasft.augment.audio import SpecAugment
    >>> x = np.ones((1, 50, 16), "float32")
    >>> layer = SpecAugment(time_masks=0, freq_masks=1, freq_width=4, mask_value=0.0, seed=0)
    >>> y = np.asarray(layer(x, training=True))[0]
    >>> int((y == 0).all(axis=0).sum()) <= 4                   # at most 4 bins masked
    True
    """

    def __init__(
        self,
        time_masks: int = 2,
        time_width: float = 0.1,
        freq_masks: int = 2,
        freq_width: int = 8,
        mask_value="mean",
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(seed=seed, **kwargs)
        self.time_masks, self.freq_masks = int(time_masks), int(freq_masks)
        self.freq_width = int(freq_width)
        self.time_width = float(time_width)
        if min(self.time_masks, self.freq_masks, self.freq_width) < 0:
            raise KerasftError(
                f"SpecAugment time_masks={time_masks}, freq_masks={freq_masks} and "
                f"freq_width={freq_width} must be >= 0."
            )
        if not 0 <= self.time_width <= 1:
            raise KerasftError(
                f"SpecAugment time_width={time_width} is a fraction of the frames, in [0, 1] "
                "(0.1: bands up to a tenth of the clip)."
            )
        if isinstance(mask_value, str):
            if mask_value.lower() not in MASK_VALUES:
                raise KerasftError(
                    f"SpecAugment mask_value={mask_value!r} must be 'mean' or a number (0.0)."
                )
            mask_value = mask_value.lower()
        else:
            mask_value = float(mask_value)
        self.mask_value = mask_value

    def _bands(self, batch, length, count: int, max_width):
        """A (batch, length) boolean mask: `count` bands per row, widths uniform in [0, max]."""
        position = ops.arange(length, dtype="float32")[None, :]
        length = ops.cast(length, "float32")
        masked = ops.zeros((batch, 1), dtype="bool")
        for _ in range(count):
            u = keras.random.uniform((batch, 2), seed=self.seed_generator)
            width = ops.minimum(ops.floor(u[:, :1] * (max_width + 1.0)), length)
            start = ops.floor(u[:, 1:] * (length - width + 1.0))
            masked = masked | ((position >= start) & (position < start + width))
        return masked

    def augment(self, inputs):
        rank = len(inputs.shape)
        if rank not in (3, 4) or (rank == 4 and inputs.shape[-1] not in (1, None)):
            raise KerasftError(
                f"SpecAugment takes spectrograms (batch, frames, bins) or (batch, frames, bins, "
                f"1); got shape {tuple(inputs.shape)}."
            )
        batch, frames, bins = ops.shape(inputs)[0], ops.shape(inputs)[1], ops.shape(inputs)[2]
        max_frames = ops.floor(self.time_width * ops.cast(frames, "float32"))
        in_time = self._bands(batch, frames, self.time_masks, max_frames)
        in_freq = self._bands(batch, bins, self.freq_masks, float(self.freq_width))
        masked = in_time[:, :, None] | in_freq[:, None, :]
        if rank == 4:
            masked = masked[..., None]
        if self.mask_value == "mean":
            value = ops.mean(inputs, axis=tuple(range(1, rank)), keepdims=True)
        else:
            value = ops.convert_to_tensor(self.mask_value, "float32")
        return ops.where(masked, ops.broadcast_to(value, ops.shape(inputs)), inputs)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "time_masks": self.time_masks,
            "time_width": self.time_width,
            "freq_masks": self.freq_masks,
            "freq_width": self.freq_width,
            "mask_value": self.mask_value,
        }
