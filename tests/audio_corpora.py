"""Shared by the audio tests: the prepared real audio corpora, and small synthesized clips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kerasft.paths import kerasft_data_dir

COMMANDS = {
    "spoken_languages": "kerasft data prepare spoken_languages",
    "prompts": "kerasft data prepare prompts --languages en",
}


def prepared(name: str) -> Path:
    """The real corpus `make assets` prepared; the test fails (never skips) without it."""
    folder = kerasft_data_dir() / name
    if not (folder / "info.json").is_file():
        pytest.fail(
            f"{folder} is not prepared: run `{COMMANDS[name]}` (`make assets` does); tests "
            "never use the network."
        )
    return folder


def tone(freq: float, seconds: float, rate: int, amplitude: float = 0.5) -> np.ndarray:
    """A float32 sine of `freq` Hz lasting `seconds` at `rate` Hz."""
    t = np.arange(round(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def peak_hz(wave: np.ndarray, rate: int) -> float:
    """The frequency of the largest FFT bin of `wave`."""
    spectrum = np.abs(np.fft.rfft(wave * np.hanning(len(wave))))
    return float(np.fft.rfftfreq(len(wave), 1 / rate)[np.argmax(spectrum)])
