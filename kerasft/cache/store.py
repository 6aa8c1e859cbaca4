"""`FeatureStore`: row-addressed cached features for one cut of one frozen model."""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

import numpy as np

from kerasft.cache.fingerprint import text_fingerprint
from kerasft.cache.manage import _MEMORY, default_root, prune
from kerasft.cache.rows import FeatureRows

__all__ = ["FeatureStore", "default_root"]


def _write_json(path: Path, value: dict) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    tmp.write_text(json.dumps(value, indent=1, sort_keys=True, default=str))
    os.replace(tmp, path)  # atomic: a reader never sees half a file


class FeatureStore:
    """Features of many datasets' rows for one model key, in memory and/or on disk.

    The key (backbone, weights fingerprint, input size, preprocessing, cut, dtype, views)
    names a directory; inside, each stored batch of rows is an *entry*: a features `.npy`,
    the rows' content hashes and a small JSON description. A lookup gathers the requested
    rows from every entry, so a fold or a tuner trial reuses rows computed by any earlier run,
    and only the missing rows are computed and added as a new entry. Changing any key part
    changes the directory: stale features are never read.

    Args:
        key: the JSON-able key parts.
        root: the cache root (default `~/.cache/kerasft/features`, or `$KERASFT_CACHE`).
        disk: keep entries on disk (reused across runs) as well as in this process.
        in_memory: load disk entries into RAM; False memory-maps them.

    Example:

    >>> import numpy as np, tempfile
    >>> from kerasft.cache import FeatureStore
    >>> from kerasft.cache.fingerprint import row_hashes
    >>> store = FeatureStore({"cut": "demo"}, root=tempfile.mkdtemp())
    >>> x = np.arange(12, dtype="uint8").reshape(4, 3)
    >>> rows, missing = store.lookup(row_hashes(x))
    >>> int(missing.sum())
    4
    >>> store.add(row_hashes(x), x.astype("float16") * 2)
    >>> rows, missing = store.lookup(row_hashes(x[::-1]))
    >>> rows.take(np.array([0]))[0].tolist(), int(missing.sum())
    ([18.0, 20.0, 22.0], 0)
    """

    def __init__(
        self,
        key: dict,
        *,
        root: str | os.PathLike | None = None,
        disk: bool = True,
        in_memory: bool = True,
    ):
        self.key = dict(key)
        self.digest = text_fingerprint(self.key)
        self.root = Path(root) if root is not None else default_root()
        self.dir = self.root / self.digest
        self.disk = disk
        self.in_memory = in_memory

    # -- reading -------------------------------------------------------------------------

    def _disk_entries(self) -> list[str]:
        if not self.disk or not self.dir.is_dir():
            return []
        return sorted(
            p.name[: -len(".json")] for p in self.dir.glob("*.json") if p.name != "key.json"
        )

    def _entries(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        memory = _MEMORY.setdefault(self.digest, {})
        entries = dict(memory)
        for entry in self._disk_entries():
            if entry in entries:
                continue
            try:
                hashes = np.load(self.dir / f"{entry}.rows.npy")
                features = np.load(
                    self.dir / f"{entry}.npy", mmap_mode=None if self.in_memory else "r"
                )
            except (OSError, ValueError):
                continue  # a half-deleted entry: ignore it, the rows get recomputed
            entries[entry] = (hashes, features)
            if self.in_memory:
                memory[entry] = (hashes, features)
        return entries

    def lookup(self, hashes: np.ndarray) -> tuple[FeatureRows | None, np.ndarray]:
        """Gather the rows whose hashes are given; returns (rows or None, missing mask).

        `rows` covers only the found rows (in the requested order); when nothing is missing
        it is the whole dataset.
        """
        entries = self._entries()
        arrays, where = [], {}
        for k, (entry_hashes, features) in enumerate(entries.values()):
            arrays.append(features)
            where.update({h: (k, i) for i, h in enumerate(entry_hashes.tolist())})
        found = [where.get(h) for h in hashes.tolist()]
        missing = np.array([f is None for f in found], dtype=bool)
        if missing.all():
            return None, missing
        hits = [f for f in found if f is not None]
        rows = FeatureRows(arrays, np.array([w for w, _ in hits]), np.array([i for _, i in hits]))
        if self.disk and self.dir.is_dir():
            self._touch()
        return rows, missing

    def known(self) -> set[bytes]:
        """The hashes of every row stored so far (in memory or on disk)."""
        return {h for hashes, _ in self._entries().values() for h in hashes.tolist()}

    # -- writing -------------------------------------------------------------------------

    def new_entry(self, n: int, row_shape: tuple[int, ...], dtype) -> tuple[str, np.ndarray]:
        """An entry id and a writable `(n, *row_shape)` array to fill, then `commit`."""
        entry = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"
        if not self.disk:
            return entry, np.empty((n, *row_shape), dtype)
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / f".{entry}.npy.partial"
        return entry, np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=(n, *row_shape))

    def commit(self, entry: str, hashes: np.ndarray, features: np.ndarray, **info) -> None:
        """Make a filled entry visible to lookups (atomically, on disk)."""
        if self.disk:
            features.flush()
            partial = self.dir / f".{entry}.npy.partial"
            del features
            os.replace(partial, self.dir / f"{entry}.npy")
            np.save(self.dir / f"{entry}.rows.npy", hashes)
            if not (self.dir / "key.json").exists():
                _write_json(self.dir / "key.json", {"key": self.key, "created": time.time()})
            nbytes = (self.dir / f"{entry}.npy").stat().st_size
            _write_json(self.dir / f"{entry}.json", {"rows": len(hashes), "bytes": nbytes, **info})
            self._touch()
            prune(self.root, keep=(self.digest,))  # least recently used caches go first
            if self.in_memory:
                loaded = np.load(self.dir / f"{entry}.npy")
                _MEMORY.setdefault(self.digest, {})[entry] = (hashes, loaded)
        else:
            _MEMORY.setdefault(self.digest, {})[entry] = (hashes, features)

    def add(self, hashes: np.ndarray, features: np.ndarray, **info) -> None:
        """Store the features of rows `hashes` (one entry)."""
        entry, target = self.new_entry(len(hashes), features.shape[1:], features.dtype)
        target[...] = features
        self.commit(entry, hashes, target, **info)

    def _touch(self) -> None:
        stamp = self.dir / "last_used"
        try:
            stamp.touch()
        except OSError:
            pass

    def forget(self) -> None:
        """Drop this store's entries from this process's memory (disk files stay)."""
        _MEMORY.pop(self.digest, None)
