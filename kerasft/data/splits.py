"""Stratified, seeded train/validation/test splits.

Each class is cut in the same proportions (to within one example), and the split totals are
exactly `round(n * fraction)`: the leftover fractions are handed out by largest remainder, so
small classes are not all rounded the same way. Multilabel rows are stratified on their rarest
positive label, which keeps rare labels present in every split.

Example:

```python
import numpy as np
y = np.array([0] * 80 + [1] * 20)
train, val, test = kft.data.split_indices(y, validation_split=0.1, test_split=0.1, seed=0)
np.bincount(y[val])   # array([8, 2])
(x_tr, y_tr), (x_val, y_val) = kft.data.split(np.zeros((100, 4, 4, 1)), y, 0.2, seed=0)
```
"""

from __future__ import annotations

import numpy as np

from kerasft.errors import KerasftError

DEFAULT_SEED = 1337


def _check_fraction(name: str, value: float | None) -> float:
    if value is None:
        return 0.0
    if not isinstance(value, (int, float)) or not 0.0 <= float(value) < 1.0:
        raise KerasftError(f"{name}={value!r} must be a fraction in [0, 1), e.g. 0.2.")
    return float(value)


def _strata(labels: np.ndarray) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim == 1:
        return np.unique(labels, return_inverse=True)[1]
    # Multi-hot: the rarest positive label of each row; rows with none get their own stratum.
    positives = labels > 0
    frequency = positives.sum(axis=0).astype(np.float64)
    rarity = np.where(positives, frequency[None, :], np.inf)
    key = np.argmin(rarity, axis=1)
    key[~positives.any(axis=1)] = labels.shape[1]
    return key


def _allocate(sizes: np.ndarray, fraction: float, capacity: np.ndarray, rng) -> np.ndarray:
    """How many of each stratum to take: proportional, totalling round(sum * fraction)."""
    exact = sizes * fraction
    take = np.minimum(np.floor(exact).astype(np.int64), capacity)
    missing = int(round(sizes.sum() * fraction)) - int(take.sum())
    if missing > 0:
        remainder = exact - take
        # Ties (equal remainders) are broken at random, but reproducibly.
        order = np.lexsort((rng.random(len(sizes)), -remainder))
        for index in order:
            if missing == 0:
                break
            if take[index] < capacity[index]:
                take[index] += 1
                missing -= 1
    return take


def split_indices(
    labels,
    validation_split: float | None = None,
    test_split: float | None = None,
    seed: int | None = DEFAULT_SEED,
    stratify: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices of the train, validation and test examples, each sorted ascending.

    Args:
        labels: class indices (N,), or multi-hot rows (N, K) for multilabel data.
        validation_split: fraction for validation (None or 0: empty).
        test_split: fraction for test (None or 0: empty).
        seed: seed of the shuffle; the same seed gives the same split.
        stratify: keep each class's share in every split (else a plain random split).
    """
    val_fraction = _check_fraction("validation_split", validation_split)
    test_fraction = _check_fraction("test_split", test_split)
    if val_fraction + test_fraction >= 1.0:
        raise KerasftError(
            f"validation_split + test_split = {val_fraction + test_fraction:g} leaves nothing to "
            "train on; make their sum smaller than 1."
        )
    labels = np.asarray(labels)
    n = len(labels)
    rng = np.random.default_rng(seed)
    strata = _strata(labels) if stratify else np.zeros(n, dtype=np.int64)
    groups = [np.flatnonzero(strata == s) for s in np.unique(strata)]
    groups = [rng.permutation(g) for g in groups]
    sizes = np.array([len(g) for g in groups], dtype=np.int64)
    # Every stratum keeps at least one training example when it has one to keep.
    capacity = np.maximum(sizes - 1, 0)
    n_val = _allocate(sizes, val_fraction, capacity, rng)
    n_test = _allocate(sizes, test_fraction, capacity - n_val, rng)
    train, val, test = [], [], []
    for group, v, t in zip(groups, n_val, n_test, strict=True):
        val.append(group[:v])
        test.append(group[v : v + t])
        train.append(group[v + t :])

    def join(parts):
        return np.sort(np.concatenate(parts)) if parts else np.zeros(0, np.int64)

    return join(train), join(val), join(test)


def split(
    x,
    y,
    validation_split: float = 0.2,
    test_split: float | None = None,
    seed: int | None = DEFAULT_SEED,
    stratify: bool = True,
):
    """Split arrays like scikit-learn's `train_test_split`, stratified by `y`.

    Returns `((x_train, y_train), (x_val, y_val))`, plus `(x_test, y_test)` when `test_split`
    is given.

    Args:
        x, y: the arrays to split, the same length; `y` holds the labels to stratify by.
        validation_split: the fraction of the examples held out for validation.
        test_split: the fraction held out for testing, or None for no test split.
        seed: seeds the shuffle before the split.
        stratify: keep the class proportions of `y` in every split.
    """
    x = np.asarray(x)
    y = np.asarray(y)
    if len(x) != len(y):
        raise KerasftError(f"x has {len(x)} examples but y has {len(y)}; give one label per image.")
    train, val, test = split_indices(y, validation_split, test_split, seed=seed, stratify=stratify)
    parts = [(x[train], y[train]), (x[val], y[val])]
    if test_split:
        parts.append((x[test], y[test]))
    return tuple(parts)


def chosen_splits(
    labels, validation_split, test_split, seed=DEFAULT_SEED, stratify: bool = True
) -> dict:
    """`{"train": indices, "val": ..., "test": ...}` of the splits asked for (a share of 0 or
    None leaves its split out), each refused when empty.

    Args:
        labels: int class indices (N,) or multi-hot rows (N, K).
        validation_split: the validation share, or 0/None.
        test_split: the test share, or 0/None.
        seed: the split's seed.
        stratify: keep each class's share in every split.
    """
    train, val, test = split_indices(labels, validation_split, test_split, seed, stratify)
    chosen = {"train": train}
    if validation_split:
        chosen["val"] = val
    if test_split:
        chosen["test"] = test
    for name, indices in chosen.items():
        if len(indices) == 0:
            raise KerasftError(f"the {name} split is empty; use a larger fraction or more data.")
    return chosen
