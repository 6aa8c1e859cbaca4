"""Turn user labels (names, indices, one-hot or multi-hot rows, 'a|b' strings) into arrays.

Every loader goes through `encode_labels`, so a bad label gets the same clear error whichever
loader it came through, before any TensorFlow op sees it.

Example:

```python
from kerasft.data.labels import encode_labels
encode_labels(["cat", "dog", "cat"])             # (array([0, 1, 0]), ['cat', 'dog'], False)
encode_labels(["cat|dog", "dog"], sep="|")[0]    # [[1, 1], [0, 1]] as float32
```
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kerasft.errors import KerasftError


def _is_text(value) -> bool:
    return isinstance(value, (str, bytes, np.str_, np.bytes_))


def _as_text(value) -> str:
    return value.decode() if isinstance(value, (bytes, np.bytes_)) else str(value)


def _from_names(names: Sequence[str], class_names: Sequence[str] | None) -> tuple:
    names = [_as_text(n) for n in names]
    if class_names is None:
        class_names = sorted(set(names))
    index = {name: i for i, name in enumerate(class_names)}
    unknown = sorted(set(names) - set(index))
    if unknown:
        raise KerasftError(
            f"labels {unknown[:5]} are not among class_names {list(class_names)}; "
            "add them to class_names or fix the labels."
        )
    return np.array([index[n] for n in names], dtype=np.int64), list(class_names)


def _multi_hot(rows: Sequence[Sequence], class_names: Sequence[str] | None) -> tuple:
    rows = [[_as_text(v) for v in row] for row in rows]
    if class_names is None:
        class_names = sorted({v for row in rows for v in row})
    index = {name: i for i, name in enumerate(class_names)}
    unknown = sorted({v for row in rows for v in row} - set(index))
    if unknown:
        raise KerasftError(f"labels {unknown[:5]} are not among class_names {list(class_names)}.")
    out = np.zeros((len(rows), len(class_names)), dtype=np.float32)
    for r, row in enumerate(rows):
        for value in row:
            out[r, index[value]] = 1.0
    return out, list(class_names)


def encode_labels(
    y,
    class_names: Sequence[str] | None = None,
    num_classes: int | None = None,
    multilabel: bool | None = None,
    sep: str | None = None,
    num_examples: int | None = None,
) -> tuple[np.ndarray, list[str], bool]:
    """Labels as `(array, class_names, multilabel)`.

    The array is int64 class indices (N,) for single-label data, float32 multi-hot (N, K) for
    multilabel data. One-hot rows become indices. Raises `KerasftError` for NaN, fractional or
    out-of-range indices, rows that are not 0/1, and a length other than `num_examples`.
    """
    if class_names is not None:
        class_names = [str(c) for c in class_names]
        if num_classes is not None and num_classes != len(class_names):
            raise KerasftError(
                f"num_classes={num_classes} but {len(class_names)} class_names were given."
            )
        num_classes = len(class_names)
    if not isinstance(y, np.ndarray):
        y = list(y) if not np.isscalar(y) else [y]
        if y and all(_is_text(v) for v in y):
            y = np.array([_as_text(v) for v in y], dtype=object)
        elif y and any(isinstance(v, (list, tuple, set, np.ndarray)) for v in y):
            if not all(isinstance(v, (list, tuple, set, np.ndarray)) for v in y):
                raise KerasftError("labels mix lists and single values; use one kind.")
            if all(all(_is_text(e) for e in v) for v in y):
                out, names = _multi_hot(y, class_names)
                _check_length(out, num_examples)
                return out, names, True
            y = np.array([np.asarray(v) for v in y])
        else:
            y = np.asarray(y)
    _check_length(y, num_examples)
    if y.dtype.kind in "OUS":
        flat = y.reshape(-1) if y.ndim > 1 and y.shape[1:] == (1,) else y
        if flat.ndim != 1:
            raise KerasftError(f"text labels must be one per example; got shape {y.shape}.")
        if sep is not None or multilabel:
            parts = [[p.strip() for p in _as_text(v).split(sep or ",") if p.strip()] for v in flat]
            out, names = _multi_hot(parts, class_names)
            return out, names, True
        indices, names = _from_names(flat, class_names)
        return indices, names, False
    if y.dtype.kind not in "biuf":
        raise KerasftError(f"labels must be numbers or names; got dtype {y.dtype}.")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim == 1:
        return _check_indices(y, class_names, num_classes)
    if y.ndim != 2:
        raise KerasftError(
            f"labels must be class indices (N,) or one-/multi-hot rows (N, K); got shape {y.shape}."
        )
    y = y.astype(np.float64)
    if not np.all(np.isfinite(y)):
        raise KerasftError("labels contain NaN or infinite values; drop or fix those rows.")
    if not np.all((y == 0) | (y == 1)):
        raise KerasftError("one-hot / multi-hot label rows must hold only 0 and 1.")
    if num_classes is not None and y.shape[1] != num_classes:
        raise KerasftError(f"label rows have {y.shape[1]} columns but num_classes={num_classes}.")
    names = class_names or [str(i) for i in range(y.shape[1])]
    one_hot = bool(np.all(y.sum(axis=1) == 1))
    if multilabel or (multilabel is None and not one_hot):
        return y.astype(np.float32), names, True
    if not one_hot:
        raise KerasftError("multilabel=False but some label rows are not one-hot (sum != 1).")
    return y.argmax(axis=1).astype(np.int64), names, False


def _check_length(y, num_examples: int | None) -> None:
    if num_examples is not None and len(y) != num_examples:
        raise KerasftError(
            f"got {num_examples} images but {len(y)} labels; give exactly one label per image."
        )


def _check_indices(y: np.ndarray, class_names, num_classes) -> tuple:
    if y.size == 0:
        raise KerasftError("no labels given.")
    if y.dtype.kind == "f":
        bad = ~np.isfinite(y)
        if bad.any():
            raise KerasftError(
                f"labels contain NaN/inf at positions {np.flatnonzero(bad)[:5].tolist()}; "
                "drop or fix those rows."
            )
        fractional = y != np.round(y)
        if fractional.any():
            raise KerasftError(
                f"labels must be whole class indices; got {y[fractional][:5].tolist()}."
            )
    y = y.astype(np.int64)
    if num_classes is None:
        num_classes = int(y.max()) + 1
    bad = (y < 0) | (y >= num_classes)
    if bad.any():
        raise KerasftError(
            f"labels must be in [0, {num_classes}) (num_classes={num_classes}); got "
            f"{sorted(set(y[bad].tolist()))[:5]} at positions {np.flatnonzero(bad)[:5].tolist()}."
        )
    names = class_names or [str(i) for i in range(num_classes)]
    return y, names, False


def class_counts(labels: np.ndarray, class_names: Sequence[str]) -> dict[str, int]:
    """Examples per class name (positives per class for multi-hot labels)."""
    if labels.ndim == 2:
        totals = labels.sum(axis=0)
    else:
        totals = np.bincount(labels, minlength=len(class_names))
    return {name: int(totals[i]) for i, name in enumerate(class_names)}
