"""The `tf.data` input pipeline every kerasft loader ends in.

It follows TensorFlow's "Better performance with the tf.data API" guide:

    elements (paths / indices / records, cheap)
      -> shuffle (seeded; before decoding when not cached, so the buffer holds only paths)
      -> map(decode + resize, AUTOTUNE)          parallel, on the CPU
      -> cache (memory or file)                  decoded once, read back every later epoch
      -> shuffle (when cached: after the cache, so each epoch has a new order)
      -> batch -> map(augment, AUTOTUNE) -> mix (MixUp/CutMix) -> prefetch(AUTOTUNE)

With `deterministic=True` every parallel map keeps its order and augmentation runs in one
thread (Keras's random layers draw from a stateful seed generator, whose order must not depend
on thread timing), so two pipelines built with the same seed give byte-identical epochs.

Example:

```python
import numpy as np, tensorflow as tf
x = np.zeros((10, 8, 8, 3), "uint8"); y = np.arange(10) % 2
elements = tf.data.Dataset.from_tensor_slices((x, y))
ds = make_pipeline(elements, decode=lambda image: image, num_examples=10, batch_size=4)
```
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from kerasft.errors import KerasftError

LABEL_MODES = ("int", "categorical")


def untuned(ds, options=None):
    """`ds` with `tf.data`'s autotuner off (and `options`, a `tf.data.Options`, merged in).

    With the autotuner on, TensorFlow 2.21 made the end of a `fit` over the dataset idle
    until the autotuner's next wake-up, and those come at doubling intervals: measured up to
    19 s at the end of a 21 s phase-2 epoch (`bench/phase2_epoch.py`), 5.5 s at the end of a
    15 s epoch of a plain Keras model. Off, `AUTOTUNE` parallelism is one call per core and
    `prefetch(AUTOTUNE)` keeps its own buffer sizing: kerasft's pipelines lose nothing. A
    dataset whose options already set `autotune.enabled` keeps that setting.

    Example:

    >>> import tensorflow as tf
    >>> from kerasft.data.pipeline import untuned
    >>> untuned(tf.data.Dataset.range(4).prefetch(tf.data.AUTOTUNE)).options().autotune.enabled
    False
    """
    import tensorflow as tf

    options = tf.data.Options() if options is None else options
    if ds.options().autotune.enabled is None:  # a user's own choice stands
        options.autotune.enabled = False
    return ds.with_options(options)


def _fit_channels(image, channels: int | None):
    import tensorflow as tf

    if channels is None:
        return image
    have = image.shape[-1]
    if have == channels:
        return image
    if channels == 3 and have == 1:
        return tf.image.grayscale_to_rgb(image)
    if channels == 3 and have == 4:
        return image[..., :3]
    if channels == 1 and have in (3, 4):
        return tf.cast(
            tf.round(tf.image.rgb_to_grayscale(tf.cast(image[..., :3], tf.float32))), image.dtype
        )
    raise KerasftError(f"cannot turn {have}-channel images into {channels}-channel images.")


def resize_image(image, image_size, interpolation: str = "bilinear"):
    """Resize one image (H, W, C) to `image_size` (height, width).

    uint8 images stay uint8 (rounded), so a cache of them takes a quarter of float32's memory;
    other dtypes come out float32.
    """
    import tensorflow as tf

    target = tf.constant(image_size, dtype=tf.int32)
    as_uint8 = image.dtype == tf.uint8
    out_dtype = tf.uint8 if as_uint8 else tf.float32

    def _resize():
        # Antialiasing matters when large photos shrink to a backbone's 224 or less.
        resized = tf.image.resize(image, target, method=interpolation, antialias=True)
        if as_uint8:
            return tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)
        return tf.cast(resized, tf.float32)

    same = tf.reduce_all(tf.equal(tf.shape(image)[:2], target))
    out = tf.cond(same, lambda: tf.cast(image, out_dtype), _resize)
    out.set_shape([image_size[0], image_size[1], image.shape[-1]])
    return out


def augment_fn(layers: Sequence, value_dtype: str = "float32") -> Callable:
    """A `(images, labels) -> (images, labels)` map that runs Keras layers in training mode."""
    import tensorflow as tf

    def apply(images, labels):
        images = tf.cast(images, value_dtype)
        for layer in layers:
            images = layer(images, training=True)
        return images, labels

    return apply


def map_augment(ds, fn: Callable, deterministic: bool):
    """`ds.map(fn)`: in parallel, or in one thread when it must be reproducible.

    Keras's random layers draw from a seed-generator variable; calls running in parallel
    would take its states in whatever order the threads happen to run.
    """
    import tensorflow as tf

    if deterministic:
        return ds.map(fn)
    return ds.map(fn, num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)


def make_pipeline(
    elements,
    decode: Callable,
    *,
    num_examples: int,
    image_size: tuple[int, int] | None = None,
    channels: int | None = None,
    label_mode: str = "int",
    num_classes: int | None = None,
    batch_size: int = 32,
    shuffle: bool = False,
    seed: int | None = None,
    cache: bool | str = False,
    deterministic: bool = False,
    augment: Sequence | None = None,
    mix: str | None = None,
    mix_alpha: float | None = None,
    shuffle_buffer: int = 10_000,
    interpolation: str = "bilinear",
    drop_remainder: bool = False,
    cheap_elements: bool = True,
):
    """Batched `(images, labels)` from an element dataset and a decode function.

    Args:
        elements: unbatched dataset of `(raw, label)`; `raw` is whatever `decode` takes.
        decode: maps `raw` (a tensor or tuple of tensors) to a uint8 image (H, W, C).
        num_examples: number of elements (sets shuffle buffers and the dataset's length).
        image_size: (height, width) to resize to; None keeps images as decoded (they must then
            share one size to be batched).
        channels: 3 turns grayscale into RGB (and drops alpha), 1 the reverse; None keeps them.
        label_mode: 'int' (class indices) or 'categorical' (one-hot float32); multi-hot labels
            pass through as float32.
        num_classes: needed for 'categorical' labels and for `mix`.
        batch_size: examples per batch.
        shuffle: reshuffle every epoch (seeded by `seed`).
        cache: True or 'memory' caches decoded images in memory, a path caches them in files
            there, False does not cache.
        deterministic: keep element order and augmentation reproducible (same seed, same bytes).
        augment: Keras layers applied to each batch in training mode (on the CPU, here).
        mix: 'mixup' or 'cutmix' to mix each batch, with soft one-hot labels.
        mix_alpha: strength of the mix (see `kft.augment.mix`).
        seed: seeds the shuffles and the mix (augmentation layers carry their own seeds).
        shuffle_buffer: the most elements a shuffle buffer holds.
        interpolation: the `tf.image.resize` method, e.g. 'bilinear' or 'nearest'.
        drop_remainder: drop the last, smaller batch.
        cheap_elements: elements are small (paths, indices), so the pre-decode shuffle can hold
            all of them; False (e.g. encoded TFDS records) bounds it by `shuffle_buffer`.
    """
    import tensorflow as tf

    if label_mode not in LABEL_MODES:
        from kerasft.errors import unknown_name

        raise unknown_name("label_mode", label_mode, LABEL_MODES)
    if not isinstance(batch_size, int) or batch_size < 1:
        raise KerasftError(f"batch_size={batch_size!r} must be a positive integer.")
    if label_mode == "categorical" and not num_classes:
        raise KerasftError("label_mode='categorical' needs num_classes.")
    autotune = tf.data.AUTOTUNE
    # Unshuffled data (validation, test) keeps its order: predictions line up with files.
    deterministic = deterministic or not shuffle
    buffer = max(1, min(num_examples, shuffle_buffer))

    def prepare(raw, label):
        image = decode(raw)
        image = _fit_channels(image, channels)
        if image_size is not None:
            image = resize_image(image, image_size, interpolation)
        if label.dtype.is_floating or label.shape.rank == 1:
            label = tf.cast(label, tf.float32)
        elif label_mode == "categorical":
            label = tf.one_hot(tf.cast(label, tf.int32), num_classes, dtype=tf.float32)
        else:
            label = tf.cast(label, tf.int32)
        return image, label

    ds = elements
    if shuffle and not cache:
        # Cheap elements (paths, indices) are shuffled all at once: a perfect shuffle for free.
        pre_buffer = max(1, min(num_examples, 1_000_000)) if cheap_elements else buffer
        ds = ds.shuffle(pre_buffer, seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(prepare, num_parallel_calls=autotune, deterministic=deterministic)
    if cache:
        ds = ds.cache("" if cache is True or cache == "memory" else str(cache))
        if shuffle:
            ds = ds.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(
        batch_size,
        drop_remainder=drop_remainder,
        num_parallel_calls=autotune,
        deterministic=deterministic,
    )
    if augment:
        ds = map_augment(ds, augment_fn(list(augment)), deterministic)
    if mix:
        from kerasft.augment.mixing import mix as mix_batches

        ds = mix_batches(ds, method=mix, num_classes=num_classes, alpha=mix_alpha, seed=seed)
    ds = ds.prefetch(autotune)
    options = tf.data.Options()
    options.deterministic = deterministic
    return untuned(ds, options)
