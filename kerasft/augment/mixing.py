"""MixUp and CutMix on batches of a `tf.data.Dataset`, with soft one-hot labels.

Both are Keras's own layers (`keras.layers.MixUp`, `keras.layers.CutMix`) run in the input
pipeline: they mix each image with another of the same batch and mix the labels by the same
weight, so labels must be one-hot (integer labels are one-hot encoded here). Apply them to the
training split only; with `kft.fine_tune` both phases read the same mixed dataset.

Example:

```python
train = kft.augment.mix(train, method="mixup", num_classes=10, alpha=0.2)
model.compile(loss="categorical_crossentropy", ...)   # soft labels: not the sparse loss
```
"""

from __future__ import annotations

from kerasft.errors import KerasftError, unknown_name

METHODS = ("mixup", "cutmix")
DEFAULT_ALPHA = {"mixup": 0.2, "cutmix": 1.0}


def mix_layer(method: str = "mixup", alpha: float | None = None, seed: int | None = None):
    """The Keras layer for `method`: `MixUp(alpha)` or `CutMix(factor=alpha)`.

    For CutMix, `alpha` in (0, 1] bounds the Beta(a, a) parameter Keras draws per batch (1.0,
    the default, gives the paper's uniform patch areas).

    Args:
        method: "mixup" or "cutmix".
        alpha: the mix strength; by default 0.2 for MixUp, 1.0 for CutMix.
        seed: seeds the layer's random draws.
    """
    import keras

    method = str(method).lower()
    if method not in METHODS:
        raise unknown_name("mix method", method, METHODS)
    alpha = DEFAULT_ALPHA[method] if alpha is None else float(alpha)
    if method == "mixup":
        if alpha <= 0:
            raise KerasftError(f"alpha={alpha} must be > 0 for MixUp (0.2 is usual).")
        return keras.layers.MixUp(alpha=alpha, seed=seed)
    if not 0 < alpha <= 1:
        raise KerasftError(f"alpha={alpha} must be in (0, 1] for CutMix (1.0 is usual).")
    return keras.layers.CutMix(factor=alpha, seed=seed)


def mix(
    ds,
    method: str = "mixup",
    num_classes: int | None = None,
    alpha: float | None = None,
    seed: int | None = None,
):
    """Mix the batches of `ds` (yielding `(images, labels)`) with MixUp or CutMix.

    Args:
        ds: a batched dataset; labels are class indices (B,) or (B, 1), or one-hot (B, K).
        method: 'mixup' or 'cutmix'.
        num_classes: needed when labels are class indices.
        alpha: mixing strength (default 0.2 for MixUp, 1.0 for CutMix).
        seed: seed of the layer's random generator (same seed, same mixes).

    Returns:
        A dataset of float32 images and float32 soft labels (B, num_classes) summing to 1.
    """
    import tensorflow as tf

    layer = mix_layer(method, alpha, seed)
    image_spec, label_spec = ds.element_spec
    if image_spec.shape.rank != 4:
        raise KerasftError(
            f"mix needs a batched dataset of images (B, H, W, C); got images of shape "
            f"{image_spec.shape}. Call it after .batch()."
        )
    sparse = label_spec.shape.rank == 1 or (
        label_spec.shape.rank == 2
        and label_spec.shape[-1] == 1
        and not label_spec.dtype.is_floating
    )
    if sparse and not num_classes:
        raise KerasftError("labels are class indices: pass num_classes so they can be one-hot.")
    if not sparse and num_classes and label_spec.shape[-1] not in (None, num_classes):
        raise KerasftError(
            f"labels have {label_spec.shape[-1]} columns but num_classes={num_classes}."
        )

    def apply(images, labels):
        if sparse:
            labels = tf.one_hot(tf.reshape(tf.cast(labels, tf.int32), [-1]), num_classes)
        mixed = layer(
            {"images": tf.cast(images, tf.float32), "labels": tf.cast(labels, tf.float32)},
            training=True,
        )
        return mixed["images"], mixed["labels"]

    # One call at a time: the layer's seed generator is a variable, shared by parallel calls.
    return ds.map(apply)
