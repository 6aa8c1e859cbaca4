"""Class weights for imbalanced data, in the form `model.fit(class_weight=...)` takes."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from kerasft.data.info import DatasetInfo
from kerasft.errors import KerasftError


def class_weights(labels, num_classes: int | None = None) -> dict[int, float]:
    """'Balanced' class weights: `n_examples / (n_present_classes * count[c])`.

    The same numbers as scikit-learn's `compute_class_weight("balanced", ...)`, so a rare class
    weighs as much in the loss as a common one. Classes absent from `labels` (only possible when
    `num_classes` says they exist) get weight 1.0; they never occur in training anyway.

    Args:
        labels: class indices (N,) or (N, 1), one-hot rows (N, K), a mapping of
            class index -> count, or a `DatasetInfo` (its 'train' split counts).
        num_classes: number of classes; defaults to the largest label + 1.

    Example:

    ```python
    kft.data.class_weights([0, 0, 0, 1])   # {0: 0.667, 1: 2.0}
    model.fit(train, class_weight=kft.data.class_weights(data.info))
    ```
    """
    if isinstance(labels, DatasetInfo):
        if labels.multilabel:
            raise KerasftError(
                "class weights need single-label data; for multilabel data weight the loss "
                "per label instead (e.g. keras.losses.BinaryFocalCrossentropy)."
            )
        counts_by_name = labels.split_counts.get("train", labels.class_counts)
        counts = np.array([counts_by_name.get(n, 0) for n in labels.class_names], np.float64)
    elif isinstance(labels, Mapping):
        size = max(int(k) for k in labels) + 1 if labels else 0
        counts = np.zeros(size, np.float64)
        for key, value in labels.items():
            counts[int(key)] = value
    else:
        array = np.asarray(labels)
        if array.ndim == 2 and array.shape[1] > 1:
            if not np.allclose(array.sum(axis=1), 1.0):
                raise KerasftError(
                    "class weights need single-label data, but these rows are multi-hot "
                    "(rows do not sum to 1)."
                )
            array = array.argmax(axis=1)
        array = array.reshape(-1)
        if array.size == 0:
            raise KerasftError("class weights need at least one label; got none.")
        if not np.issubdtype(array.dtype, np.integer):
            if not np.all(np.isfinite(array)) or not np.all(array == np.round(array)):
                raise KerasftError("labels must be whole class indices (no NaN, no fractions).")
            array = array.astype(np.int64)
        if array.min() < 0:
            raise KerasftError(f"labels must be >= 0; found {int(array.min())}.")
        counts = np.bincount(array).astype(np.float64)
    if num_classes is not None:
        if num_classes < len(counts):
            raise KerasftError(f"num_classes={num_classes} but labels go up to {len(counts) - 1}.")
        counts = np.pad(counts, (0, num_classes - len(counts)))
    present = counts > 0
    if not present.any():
        raise KerasftError("class weights need at least one labelled example.")
    total = counts.sum()
    weights = np.ones_like(counts)
    weights[present] = total / (present.sum() * counts[present])
    return {index: float(w) for index, w in enumerate(weights)}
