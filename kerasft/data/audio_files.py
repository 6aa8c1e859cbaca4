"""Read audio files as mono float32 waveforms at one sample rate, skipping the unreadable ones.

A file is read with `soundfile` (WAV, FLAC, OGG Vorbis, AIFF: whatever libsndfile reads), its
channels are averaged to one, and it is resampled to `sample_rate` with
`scipy.signal.resample_poly` (a polyphase filter: no aliasing, exact length ratio). A file that
cannot be read, is empty (0 bytes) or holds no samples is skipped: listed once in a
`SkippedFilesWarning` and returned in `skipped` (path -> reason).

>>> import os, tempfile
>>> import numpy as np, soundfile
>>> from kerasft.data.audio_files import read_audio
>>> path = os.path.join(tempfile.mkdtemp(), "tone.wav")
>>> soundfile.write(path, np.zeros((8000, 2), "float32"), 8000)   # 1 s of stereo at 8 kHz
>>> wave = read_audio(path, sample_rate=16000)
>>> wave.dtype.name, wave.shape
('float32', (16000,))
"""

from __future__ import annotations

import functools
import math
import os
import sys
from collections.abc import Sequence

import numpy as np

from kerasft.data.files import warn_skipped
from kerasft.errors import KerasftError

DEFAULT_SAMPLE_RATE = 16000
WHAT = "unreadable or empty audio file(s)"
EMPTY_FILE = "empty file (0 bytes)"
NO_SAMPLES = "no audio samples (zero length)"
# Reading and resampling takes about 20 ms a file: from this many files on, show progress.
PROGRESS_FROM = 200


def _soundfile():
    try:
        import soundfile
    except ImportError:  # the `audio` extra
        raise KerasftError(
            "reading audio files needs soundfile: pip install 'kerasft[audio]' "
            "(or pip install soundfile)."
        ) from None
    return soundfile


@functools.lru_cache(maxsize=8)
def _lowpass(up: int, down: int) -> np.ndarray:
    # resample_poly's own filter; designing it takes as long as filtering a clip, and a data
    # set's files mostly share one rate, so it is made once per rate pair.
    from scipy.signal import firwin

    rate = max(up, down)
    return firwin(2 * 10 * rate + 1, 1.0 / rate, window=("kaiser", 5.0))


def resample(wave: np.ndarray, rate: int, sample_rate: int) -> np.ndarray:
    """`wave` (mono) at `rate` Hz resampled to `sample_rate` Hz, float32.

    Args:
        wave: 1-D samples.
        rate: their sample rate.
        sample_rate: the rate wanted.

    >>> import numpy as np
    >>> from kerasft.data.audio_files import resample
    >>> resample(np.ones(441, "float32"), 44100, 16000).shape
    (160,)
    """
    if rate == sample_rate:
        return wave.astype(np.float32, copy=False)
    from scipy.signal import resample_poly

    gcd = math.gcd(int(rate), int(sample_rate))
    up, down = sample_rate // gcd, rate // gcd
    # resample_poly scales the filter in place: it gets a copy.
    return resample_poly(wave, up, down, window=_lowpass(up, down).copy()).astype(np.float32)


def read_audio(path: str | os.PathLike, sample_rate: int = DEFAULT_SAMPLE_RATE) -> np.ndarray:
    """The file's samples as one float32 channel (channels averaged) at `sample_rate` Hz.

    Raises `KerasftError` (or soundfile's error) when the file cannot be read.

    Args:
        path: an audio file.
        sample_rate: the sample rate to return (Hz).
    """
    data, rate = _soundfile().read(os.fspath(path), dtype="float32", always_2d=True)
    return resample(data.mean(axis=1), rate, sample_rate)


def _progress(done: int, total: int) -> None:
    if not sys.stderr.isatty():  # a log file gets a line at the start and one at the end
        if done in (0, total):
            print(f"Reading audio: {done}/{total} files", file=sys.stderr, flush=True)
        return
    end = "\n" if done == total else ""
    print(f"\rReading audio: {done}/{total} files", end=end, file=sys.stderr, flush=True)


def read_audios(
    paths: Sequence[str],
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    *,
    warn: bool = True,
    progress: bool | None = None,
) -> tuple[list[np.ndarray], np.ndarray, dict[str, str]]:
    """`(waves, keep, skipped)`: the readable, non-empty files of `paths` as waveforms, in order.

    Args:
        paths: the files.
        sample_rate: the sample rate to return (Hz).
        warn: emit one `SkippedFilesWarning` listing what was skipped.
        progress: print a 'Reading audio: i/N files' line to stderr as it goes; None: when
            there are at least 200 files.
    """
    if not isinstance(sample_rate, int) or isinstance(sample_rate, bool) or sample_rate < 1:
        raise KerasftError(f"sample_rate={sample_rate!r} must be a positive integer (Hz).")
    soundfile = _soundfile()
    waves, keep, skipped = [], np.zeros(len(paths), dtype=bool), {}
    show = len(paths) >= PROGRESS_FROM if progress is None else progress
    step = max(1, len(paths) // 20)
    for i, path in enumerate(paths):
        if show and (i % step == 0):
            _progress(i, len(paths))
        try:
            if os.path.getsize(path) == 0:
                skipped[path] = EMPTY_FILE
                continue
            wave = read_audio(path, sample_rate)
        except (OSError, RuntimeError, ValueError, soundfile.LibsndfileError) as err:
            skipped[path] = str(err) or type(err).__name__
            continue
        if wave.size == 0:
            skipped[path] = NO_SAMPLES
            continue
        if not np.isfinite(wave).all():
            skipped[path] = "samples that are not finite (NaN or inf)"
            continue
        waves.append(wave)
        keep[i] = True
    if show:
        _progress(len(paths), len(paths))
    if warn:
        warn_skipped(skipped, what=WHAT)
    return waves, keep, skipped
