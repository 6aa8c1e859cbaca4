"""Named strengths of audio augmentation: lists of kerasft's audio layers, for the model builder.

`audio_augmentation` gives the waveform layers (they go before the log-mel front end),
`spec_augmentation` the SpecAugment layer (after it). Like the image presets, they are lists
of layers, a no-op at inference.

| strength | waveform layers (`audio_augmentation`)          | `spec_augmentation`                   |
|----------|-------------------------------------------------|---------------------------------------|
| none     | nothing                                         | nothing                               |
| light    | gain ±3 dB, shift ±5%, noise at 25..45 dB SNR    | 1 time band ≤5%, 1 freq band ≤8 bins  |
| default  | gain ±6 dB, shift ±10%, noise at 10..40 dB SNR   | 2 time bands ≤10%, 2 freq bands ≤8    |

A dict picks the layers itself: for `audio_augmentation`, keys `gain_db` (d for ±d dB, or
`(min, max)`), `shift` (the largest fraction) and `snr_db` (`(min, max)`), a layer for each key
given; for `spec_augmentation`, `SpecAugment`'s own arguments, the rest at their defaults.
SpecAugment masks with each example's mean.

Example:

```python
waveform_layers = kft.augment.audio_augmentation("default", seed=0)
waveform_layers = kft.augment.audio_augmentation({"gain_db": 3, "shift": 0.05})
spec_layers = kft.augment.spec_augmentation({"freq_masks": 1, "mask_value": 0.0})
```
"""

from __future__ import annotations

from kerasft.errors import KerasftError, unknown_name

STRENGTHS = ("none", "light", "default")

_WAVEFORM = {
    "light": {"gain_db": (-3.0, 3.0), "shift": 0.05, "snr_db": (25.0, 45.0)},
    "default": {"gain_db": (-6.0, 6.0), "shift": 0.1, "snr_db": (10.0, 40.0)},
}
_SPEC = {
    "light": {"time_masks": 1, "time_width": 0.05, "freq_masks": 1, "freq_width": 8},
    "default": {},  # SpecAugment's own defaults
}
_SPEC_ARGS = ("time_masks", "time_width", "freq_masks", "freq_width", "mask_value")


def _strength(strength) -> str | dict:
    """The canonical strength name, or the dict itself."""
    if strength is None or strength is False:
        return "none"
    if isinstance(strength, dict):
        return strength
    if not isinstance(strength, str):
        raise KerasftError(
            f"audio augmentation strength={strength!r} must be one of {', '.join(STRENGTHS)} "
            "or a dict."
        )
    key = strength.strip().lower()
    if key not in STRENGTHS:
        raise unknown_name("audio augmentation strength", strength, STRENGTHS)
    return key


def _db_range(value) -> tuple[float, float]:
    if isinstance(value, (int, float)):
        return -abs(float(value)), abs(float(value))
    low, high = value
    return float(low), float(high)


def audio_augmentation(strength="default", seed: int | None = None) -> list:
    """The waveform augmentation layers of `strength` (gain, time shift, noise), in order.

    Args:
        strength: "none", "light", "default", or a dict with any of `gain_db`, `shift`,
            `snr_db` (see the module's table); None means "none".
        seed: seeds the layers (layer i gets seed + i), for reproducible augmentation.

    Raises:
        KerasftError: for an unknown strength or dict key, naming the known ones.

    >>> from kerasft.augment.audio_presets import audio_augmentation
    >>> [layer.name for layer in audio_augmentation("light")]
    ['aug_gain', 'aug_time_shift', 'aug_noise']
    >>> [type(layer).__name__ for layer in audio_augmentation({"shift": 0.2})]
    ['RandomTimeShift']
    """
    from kerasft.augment.audio import AddNoise, RandomGain, RandomTimeShift

    key = _strength(strength)
    if key == "none":
        return []
    settings = _WAVEFORM[key] if isinstance(key, str) else key
    for name in settings:
        if name not in _WAVEFORM["default"]:
            raise unknown_name("audio augmentation key", name, _WAVEFORM["default"])

    def s(i: int):
        return None if seed is None else int(seed) + i

    layers = []
    if settings.get("gain_db") is not None:
        low, high = _db_range(settings["gain_db"])
        layers.append(RandomGain(low, high, seed=s(len(layers)), name="aug_gain"))
    if settings.get("shift"):
        layers.append(
            RandomTimeShift(settings["shift"], seed=s(len(layers)), name="aug_time_shift")
        )
    if settings.get("snr_db") is not None:
        low, high = _db_range(settings["snr_db"])
        layers.append(AddNoise(low, high, seed=s(len(layers)), name="aug_noise"))
    return layers


def spec_augmentation(strength="default", seed: int | None = None) -> list:
    """The spectrogram augmentation of `strength`: `[SpecAugment(...)]`, or `[]` for "none".

    Args:
        strength: "none", "light", "default", or a dict of `SpecAugment` arguments
            (`time_masks`, `time_width`, `freq_masks`, `freq_width`, `mask_value`); None
            means "none".
        seed: seeds the layer.

    Raises:
        KerasftError: for an unknown strength or dict key, naming the known ones.

    >>> from kerasft.augment.audio_presets import spec_augmentation
    >>> [(layer.time_masks, layer.freq_width) for layer in spec_augmentation("light")]
    [(1, 8)]
    """
    from kerasft.augment.audio import SpecAugment

    key = _strength(strength)
    if key == "none":
        return []
    settings = _SPEC[key] if isinstance(key, str) else key
    for name in settings:
        if name not in _SPEC_ARGS:
            raise unknown_name("SpecAugment argument", name, _SPEC_ARGS)
    return [SpecAugment(**settings, seed=seed, name="aug_spec_augment")]
