"""`DataSplits`: what every `kft.data.from_*` loader returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kerasft.data.info import DatasetInfo


@dataclass
class DataSplits:
    """Batched `tf.data.Dataset`s of `(inputs, labels)` and the `DatasetInfo` that describes them.

    The inputs are images, or for text data a `tf.string` batch of shape (B,).

    Attributes:
        train: the training split (shuffled every epoch, augmented when asked).
        val: the validation split, or None when none was asked for.
        test: the test split, or None.
        info: class names, counts, image size and channels, skipped files.
        augmentation: the augmentation layers to put in the model when the loader was called
            with `augment_in="model"` (pass them to `kft.build(augmentation=...)`), else [].
        arrays: for text and audio data, the splits as NumPy arrays, `{"train": (texts,
            labels), "val": ..., "test": ...}` (texts an object array of `str`, waveforms a
            float32 `(N, samples)` array; only the splits asked for), in the same order as
            the datasets before shuffling; image loaders leave it empty.

    Example:

    ```python
    data = kft.data.from_folder("pets/", image_size=(160, 160), validation_split=0.2)
    model = kft.build("mobilenet", num_classes=data.info.num_classes)
    kft.fine_tune(model, data.train, data.val, class_weight=data.class_weights())
    ```
    """

    train: Any
    val: Any = None
    test: Any = None
    info: DatasetInfo = None
    augmentation: list = field(default_factory=list)
    arrays: dict = field(default_factory=dict)

    def class_weights(self) -> dict[int, float]:
        """Balanced class weights of the training split, for `model.fit(class_weight=...)`."""
        from kerasft.data.class_weights import class_weights

        return class_weights(self.info)

    def __iter__(self):
        # Allows `train, val, test, info = kft.data.from_folder(...)`.
        return iter((self.train, self.val, self.test, self.info))


def from_arrays(
    arrays: dict, info: DatasetInfo, *, batch_size: int, shuffle: bool, seed
) -> DataSplits:
    """`DataSplits` batching in-memory `arrays` (the text and audio loaders' splits).

    Args:
        arrays: `{split: (inputs, labels)}` with at least "train"; inputs of strings become
            `tf.string` batches.
        info: what describes them.
        batch_size: examples per batch.
        shuffle: reshuffle the training split every epoch.
        seed: the shuffle's seed.
    """
    datasets = {
        name: _batched(x, y, batch_size, shuffle=shuffle and name == "train", seed=seed)
        for name, (x, y) in arrays.items()
    }
    return DataSplits(
        train=datasets["train"],
        val=datasets.get("val"),
        test=datasets.get("test"),
        info=info,
        arrays=arrays,
    )


def _batched(inputs, labels, batch_size: int, *, shuffle: bool, seed):
    import tensorflow as tf

    from kerasft.data.pipeline import untuned

    if inputs.dtype.kind in "OUS":
        inputs = tf.constant(inputs.tolist(), dtype=tf.string)
    dataset = tf.data.Dataset.from_tensor_slices((inputs, tf.constant(labels)))
    if shuffle:
        dataset = dataset.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True)
    return untuned(dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE))
