"""Named augmentation presets made of Keras's own random image layers.

Each preset is a list of `keras.layers` (RandomFlip, RandomRotation, RandomZoom,
RandomTranslation, RandomContrast, RandomBrightness, RandomErasing, RandAugment), so it can run
either inside the model (on the accelerator; saved with the model; a no-op at inference, since
Keras's random layers only act with `training=True`) or in the `tf.data` pipeline on the CPU
(`kft.augment.apply`). The layers take raw 0..255 images (`value_range=(0, 255)`), as a
kerasft model's input does, and work on grayscale and RGB alike.

| preset      | what it does                                                                     |
|-------------|----------------------------------------------------------------------------------|
| none        | nothing                                                                          |
| light       | horizontal flip, rotation ±18°, zoom ±10%                                        |
| medium      | flip, rotation ±29°, zoom ±15%, shift ±10%, contrast and brightness ±20%         |
| heavy       | medium, stronger (rotation ±36°, zoom ±25%, shift ±15%, ±30%) + random erasing    |
| randaugment | horizontal flip + RandAugment (2 random ops of 14, magnitude 0.5)                |

Example:

```python
layers = kft.augment.preset("medium")
model = kft.build("mobilenet", num_classes=10, augmentation="medium")   # in the model
train = kft.augment.apply(train, "medium")                               # or in the pipeline
```
"""

from __future__ import annotations

from collections.abc import Sequence

from kerasft.errors import KerasftError, unknown_name

PRESETS = ("none", "light", "medium", "heavy", "randaugment")


def canonical(name: str) -> str:
    """The preset `name` spells, as in PRESETS (case, `-` and `_` ignored), or "" if none.

    Args:
        name: a preset name as a user wrote it, e.g. "RandAugment" or "rand_augment".

    >>> from kerasft.augment.presets import canonical
    >>> canonical("Rand-Augment"), canonical("strong")
    ('randaugment', '')
    """
    key = name.strip().lower().replace("-", "").replace("_", "")
    return key if key in PRESETS else ""


def _flip_rotate_zoom(L, s, value_range, *, rotation, zoom, shift=None, color=None) -> list:
    """What light, medium and heavy share: flip, rotation and zoom, then a shift, contrast and
    brightness where given. The order is part of each preset: layer i gets seed + i."""
    layers = [
        L.RandomFlip("horizontal", seed=s(), name="aug_flip"),
        L.RandomRotation(rotation, seed=s(), name="aug_rotation"),
        L.RandomZoom(zoom, seed=s(), name="aug_zoom"),
    ]
    if shift is not None:
        layers.append(L.RandomTranslation(shift, shift, seed=s(), name="aug_translation"))
    if color is not None:
        layers += [
            L.RandomContrast(color, value_range=value_range, seed=s(), name="aug_contrast"),
            L.RandomBrightness(color, value_range=value_range, seed=s(), name="aug_brightness"),
        ]
    return layers


def _seeder(seed: int | None):
    """Distinct, reproducible seeds for the layers of one preset (None stays None)."""
    counter = iter(range(1_000))
    return lambda: None if seed is None else int(seed) + next(counter)


def preset(
    name: str,
    value_range: tuple[float, float] = (0, 255),
    seed: int | None = None,
) -> list:
    """The list of Keras augmentation layers of preset `name`.

    Args:
        name: one of 'none', 'light', 'medium', 'heavy', 'randaugment'.
        value_range: the range of the image values the layers receive (kerasft models take
            raw 0..255 images).
        seed: seeds the layers (layer i gets seed + i), for reproducible augmentation.

    Raises:
        KerasftError: for an unknown name, naming the close matches.
    """
    import keras

    if not isinstance(name, str):
        raise KerasftError(f"augmentation preset must be a name; got {type(name).__name__}.")
    key = canonical(name)
    if not key:
        raise unknown_name("augmentation preset", name, PRESETS)
    value_range = tuple(float(v) for v in value_range)
    if len(value_range) != 2 or value_range[0] >= value_range[1]:
        raise KerasftError(f"value_range={value_range} must be (low, high) with low < high.")
    L = keras.layers
    s = _seeder(seed)
    if key == "none":
        return []
    if key == "light":
        return _flip_rotate_zoom(L, s, value_range, rotation=0.05, zoom=0.1)
    if key == "medium":
        return _flip_rotate_zoom(L, s, value_range, rotation=0.08, zoom=0.15, shift=0.1, color=0.2)
    if key == "heavy":
        return [
            *_flip_rotate_zoom(L, s, value_range, rotation=0.1, zoom=0.25, shift=0.15, color=0.3),
            L.RandomErasing(
                factor=0.5, scale=(0.02, 0.2), value_range=value_range, seed=s(), name="aug_erasing"
            ),
        ]
    return [
        L.RandomFlip("horizontal", seed=s(), name="aug_flip"),
        L.RandAugment(
            value_range=value_range, num_ops=2, factor=0.5, seed=s(), name="aug_randaugment"
        ),
    ]


def resolve(
    augmentation, value_range: tuple[float, float] = (0, 255), seed: int | None = None
) -> list:
    """Layers from a preset name, a list of layers, a `keras.Sequential`, or None (no layers).

    This is what `kft.build(augmentation=...)` and the loaders' `augment=` accept.

    Args:
        augmentation: a preset name ("light", "medium", ...), a list of layers, a
            `keras.Sequential`, or None.
        value_range: the pixel range of the images the layers will see.
        seed: seeds the layers of a preset.
    """
    import keras

    if augmentation is None or augmentation is False:
        return []
    if isinstance(augmentation, str):
        return preset(augmentation, value_range=value_range, seed=seed)
    if isinstance(augmentation, keras.layers.Layer):
        return [augmentation]
    if isinstance(augmentation, Sequence):
        bad = [a for a in augmentation if not isinstance(a, keras.layers.Layer)]
        if bad:
            raise KerasftError(
                f"augmentation must be a preset name or Keras layers; got {bad[0]!r}. "
                f"Presets: {', '.join(PRESETS)}."
            )
        return list(augmentation)
    raise KerasftError(
        f"augmentation={augmentation!r} must be a preset name ({', '.join(PRESETS)}), a list of "
        "Keras layers, or None."
    )


def apply(ds, augmentation, seed: int | None = None, deterministic: bool = False):
    """Augment the images of a `tf.data.Dataset` of `(images, labels)` on the CPU.

    Works on batched or unbatched datasets; images come out float32 in the same value range.
    `deterministic=True` runs the map in one thread so the same seed gives the same images.

    Args:
        ds: a `tf.data.Dataset` of `(images, labels)`, batched or not.
        augmentation: a preset name, a list of Keras layers or a `keras.Sequential` (see `resolve`).
        seed: seeds the augmentation layers.
        deterministic: map in one thread, so the same seed gives the same images.

    Example:

    ```python
    train = kft.augment.apply(train, "light", seed=0)
    ```
    """
    from kerasft.data.pipeline import augment_fn, map_augment

    layers = resolve(augmentation, seed=seed)
    if not layers:
        return ds
    return map_augment(ds, augment_fn(layers), deterministic)
