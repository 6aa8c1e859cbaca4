"""The data of a fit job: named datasets split into train, validation and test arrays."""

from __future__ import annotations

import numpy as np

from kerasft.data.keras_datasets import load_arrays
from kerasft.data.splits import split_indices
from kerasft.errors import KerasftError


def job_arrays(name: str, train_samples: int | None, val_samples: int, seed: int):
    """`(train, val, test, class_names)`; train and val are stratified draws from the training set.

    The test set is always the dataset's full official test split.
    """
    (x, y), (x_test, y_test), class_names = load_arrays(name)
    y, y_test = np.asarray(y).reshape(-1), np.asarray(y_test).reshape(-1)
    if val_samples < 0 or val_samples >= len(y):
        raise KerasftError(
            f"val_samples={val_samples} must be between 0 and {len(y) - 1} for {name!r}."
        )
    rest, val, _ = split_indices(y, validation_split=val_samples / len(y) or None, seed=seed)
    if train_samples is not None:
        if train_samples < 1:
            raise KerasftError(f"train_samples={train_samples} must be at least 1 (or null: all).")
        if train_samples < len(rest):
            keep, _, _ = split_indices(
                y[rest], validation_split=1 - train_samples / len(rest), seed=seed
            )
            rest = rest[keep]
    return (x[rest], y[rest]), (x[val], y[val]), (x_test, y_test), list(class_names)
