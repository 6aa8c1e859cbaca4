"""`LogMel`: raw mono waveforms -> log-compressed mel spectrograms, inside the model.

The front end of kerasft's audio models, so that a saved or exported model takes audio, not
spectrograms. It computes what musicnn's training data went through (librosa's
`melspectrogram` then `log10(1 + 10000 * mel)`): a centred STFT (reflect padding of
`n_fft // 2` on both sides, periodic Hann window), the power spectrum, librosa's default
"Slaney" mel filter bank (area-normalised triangles on the Slaney mel scale), then the log
compression. It always computes in float32, also under a `mixed_float16` policy: the power
spectrum of loud audio overflows float16.

>>> import numpy as np
>>> from kerasft.backbones.log_mel import LogMel, mel_band_centres
>>> tone = np.sin(2 * np.pi * 1000 * np.arange(16000) / 16000).astype("float32")[None]
>>> spec = LogMel()(tone)
>>> tuple(spec.shape)  # 1 + 16000 // 256 frames, 96 mel bands
(1, 63, 96)
>>> loudest = int(np.argmax(np.asarray(spec)[0].mean(0)))  # the band nearest 1 kHz
>>> loudest == int(np.argmin(np.abs(mel_band_centres() - 1000)))
True
"""

from __future__ import annotations

import keras
import numpy as np

SAMPLE_RATE = 16000
N_FFT = 512
HOP_LENGTH = 256
N_MELS = 96

# Slaney's mel scale (librosa's default, htk=False): linear below 1 kHz, logarithmic above.
_F_SP = 200.0 / 3
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = np.log(6.4) / 27.0


def hz_to_mel(hz) -> np.ndarray:
    """Frequencies in Hz on the Slaney mel scale (librosa's `hz_to_mel`, `htk=False`).

    Args:
        hz: a frequency or an array of frequencies, in Hz.
    """
    hz = np.asarray(hz, dtype=np.float64)
    mel = hz / _F_SP
    high = hz >= _MIN_LOG_HZ
    return np.where(
        high, _MIN_LOG_MEL + np.log(np.maximum(hz, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOGSTEP, mel
    )


def mel_to_hz(mel) -> np.ndarray:
    """Slaney mels back to Hz (the inverse of `hz_to_mel`).

    Args:
        mel: a value or an array of values on the Slaney mel scale.
    """
    mel = np.asarray(mel, dtype=np.float64)
    hz = _F_SP * mel
    high = mel >= _MIN_LOG_MEL
    return np.where(high, _MIN_LOG_HZ * np.exp(_LOGSTEP * (mel - _MIN_LOG_MEL)), hz)


def mel_filter_bank(
    sample_rate: int = SAMPLE_RATE,
    n_fft: int = N_FFT,
    n_mels: int = N_MELS,
    fmin: float = 0.0,
    fmax: float | None = None,
) -> np.ndarray:
    """librosa's default mel filter bank (`librosa.filters.mel`, Slaney scale and norm), as a
    `(1 + n_fft // 2, n_mels)` float32 matrix that maps a power spectrum to mel bands.

    Args:
        sample_rate: the audio's sample rate in Hz.
        n_fft: the FFT length.
        n_mels: the number of mel bands.
        fmin: the lowest band edge in Hz.
        fmax: the highest band edge in Hz; None means `sample_rate / 2`.
    """
    fmax = sample_rate / 2 if fmax is None else fmax
    fft_freqs = np.linspace(0, sample_rate / 2, 1 + n_fft // 2)
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]  # equal area per band ("slaney")
    return weights.T.astype(np.float32)


def mel_band_centres(
    sample_rate: int = SAMPLE_RATE, n_mels: int = N_MELS, fmax: float | None = None
) -> np.ndarray:
    """The centre frequency in Hz of each band of `mel_filter_bank`.

    Args:
        sample_rate: the audio's sample rate in Hz.
        n_mels: the number of mel bands.
        fmax: the highest band edge in Hz; None means `sample_rate / 2`.
    """
    fmax = sample_rate / 2 if fmax is None else fmax
    return mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(fmax), n_mels + 2))[1:-1]


def frames_for(samples: int, hop_length: int = HOP_LENGTH) -> int:
    """Spectrogram frames `LogMel` makes of `samples` samples (a centred STFT).

    Args:
        samples: the waveform's length.
        hop_length: the hop between frames.
    """
    return 1 + int(samples) // hop_length


@keras.saving.register_keras_serializable(package="kerasft")
class LogMel(keras.layers.Layer):
    """Raw mono waveforms `(batch, samples)` -> log-mel spectrograms `(batch, frames, n_mels)`.

    Args:
        sample_rate: the rate the waveforms are sampled at (the data pipeline resamples).
        n_fft: the STFT's window and FFT length.
        hop_length: samples between frames.
        n_mels: mel bands.
        min_samples: shorter waveforms are zero-padded at the end to this many samples, so a
            backbone's pooling always has frames to pool (0: no padding).
        log_scale: the log compression `log10(1 + log_scale * mel)`; 0 keeps the linear mel
            power.
        **kwargs: `keras.layers.Layer` arguments (`name`, ...). `dtype` is float32 whatever
            is passed: float16 overflows.
    """

    def __init__(
        self,
        sample_rate: int = SAMPLE_RATE,
        n_fft: int = N_FFT,
        hop_length: int = HOP_LENGTH,
        n_mels: int = N_MELS,
        min_samples: int = 0,
        log_scale: float = 10000.0,
        **kwargs,
    ):
        kwargs["dtype"] = "float32"
        super().__init__(**kwargs)
        self.sample_rate = sample_rate
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.n_mels = n_mels
        self.min_samples = min_samples
        self.log_scale = log_scale
        self._filters = mel_filter_bank(sample_rate, n_fft, n_mels)

    def call(self, waveforms):
        import tensorflow as tf

        x = tf.cast(waveforms, tf.float32)
        if self.min_samples:
            short = tf.maximum(0, self.min_samples - tf.shape(x)[-1])
            x = tf.pad(x, [[0, 0], [0, short]])
        half = self.n_fft // 2
        # librosa's centring; reflect padding needs more samples than the pad, which
        # `min_samples` (or any real clip) provides.
        x = tf.pad(x, [[0, 0], [half, half]], mode="REFLECT")
        stft = tf.signal.stft(
            x,
            frame_length=self.n_fft,
            frame_step=self.hop_length,
            fft_length=self.n_fft,
            window_fn=tf.signal.hann_window,
            pad_end=False,
        )
        power = tf.math.square(tf.math.abs(stft))
        mel = tf.linalg.matmul(power, tf.constant(self._filters))
        if not self.log_scale:
            return mel
        return tf.math.log(1.0 + self.log_scale * mel) / tf.math.log(10.0)

    def compute_output_shape(self, input_shape):
        samples = input_shape[-1]
        if samples is not None:
            samples = frames_for(max(samples, self.min_samples), self.hop_length)
        return (input_shape[0], samples, self.n_mels)

    def get_config(self):
        config = super().get_config()
        config.update(
            sample_rate=self.sample_rate,
            n_fft=self.n_fft,
            hop_length=self.hop_length,
            n_mels=self.n_mels,
            min_samples=self.min_samples,
            log_scale=self.log_scale,
        )
        return config
