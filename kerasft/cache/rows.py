"""`FeatureRows`: a dataset's cached features, gathered lazily from one or more stored arrays."""

from __future__ import annotations

import numpy as np


class FeatureRows:
    """Row `i` is `arrays[which[i]][index[i]]`; nothing is copied until `take`.

    A fold or a subset of a cached dataset then costs no memory: its rows point into the
    arrays (in memory or memory-mapped `.npy` files) that already hold them.

    Args:
        arrays: the stored feature arrays (all with the same row shape and dtype).
        which: for each row, the position in `arrays` of the array that holds it.
        index: for each row, its position within that array.

    Example:

    >>> import numpy as np
    >>> from kerasft.cache import FeatureRows
    >>> a, b = np.zeros((3, 2)), np.ones((2, 2))
    >>> rows = FeatureRows([a, b], which=np.array([1, 0]), index=np.array([0, 2]))
    >>> rows.take(np.array([0, 1]))[:, 0].tolist()
    [1.0, 0.0]
    """

    def __init__(self, arrays: list[np.ndarray], which: np.ndarray, index: np.ndarray):
        self.arrays = list(arrays)
        self.which = np.asarray(which, dtype="int32")
        self.index = np.asarray(index, dtype="int64")

    @classmethod
    def of(cls, array: np.ndarray) -> FeatureRows:
        """All rows of one array, in order."""
        return cls([array], np.zeros(len(array), "int32"), np.arange(len(array)))

    def __len__(self) -> int:
        return len(self.index)

    @property
    def row_shape(self) -> tuple[int, ...]:
        return tuple(self.arrays[0].shape[1:])

    @property
    def dtype(self) -> np.dtype:
        return self.arrays[0].dtype

    @property
    def nbytes(self) -> int:
        return len(self) * int(np.prod(self.row_shape)) * self.dtype.itemsize

    def _whole_array(self) -> np.ndarray | None:
        # The common case (one array, all rows, in order) needs no gathering at all.
        if len(self.arrays) == 1 and len(self.arrays[0]) == len(self):
            if np.array_equal(self.index, np.arange(len(self))):
                return self.arrays[0]
        return None

    def take(self, rows: np.ndarray, dtype=None) -> np.ndarray:
        """The features of `rows` (positions in this dataset), as a new array."""
        rows = np.asarray(rows)
        whole = self._whole_array()
        if whole is not None:
            out = whole[rows]
        else:
            which, index = self.which[rows], self.index[rows]
            out = np.empty((len(rows), *self.row_shape), self.dtype)
            for k, array in enumerate(self.arrays):
                hit = which == k
                if hit.any():
                    out[hit] = array[index[hit]]
        return out if dtype is None else out.astype(dtype, copy=False)

    def array(self) -> np.ndarray:
        """All rows as one array (the stored array itself when no gathering is needed)."""
        whole = self._whole_array()
        return whole if whole is not None else self.take(np.arange(len(self)))

    def chunks(self, size: int):
        """Yield consecutive blocks of at most `size` rows."""
        for start in range(0, len(self), size):
            yield self.take(np.arange(start, min(start + size, len(self))))
