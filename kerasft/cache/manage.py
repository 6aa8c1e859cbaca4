"""Where the feature caches live, and listing, clearing and pruning them (`kerasft cache`).

`FeatureStore` (store.py) builds on this module: it writes under `default_root()`, keeps its
in-process entries in `_MEMORY` and prunes to the disk budget after each write. Nothing here
imports the store, so the two modules form no import cycle.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

from kerasft.paths import kerasft_cache_dir

# Entries kept in this process: {store digest: {entry id: (row hashes, features)}}.
_MEMORY: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}


def default_root() -> Path:
    """Where feature caches live on disk: `<kerasft cache dir>/features`."""
    return kerasft_cache_dir() / "features"


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.iterdir() if p.is_file())


def ls(root: str | os.PathLike | None = None) -> list[dict]:
    """One dict per cached model key: id, backbone, cut, image size, rows, bytes, last use.

    Args:
        root: the feature cache folder to list; defaults to `default_root()`. A folder that
            does not exist lists nothing.

    Example:

    >>> import tempfile
    >>> from kerasft.cache import ls
    >>> ls(tempfile.mkdtemp())
    []
    """
    root = Path(root) if root is not None else default_root()
    if not root.is_dir():
        return []
    out = []
    for path in sorted(root.iterdir()):
        meta = path / "key.json"
        if not path.is_dir() or not meta.exists():
            continue
        try:
            key = json.loads(meta.read_text())
        except (OSError, ValueError):
            key = {}
        parts = key.get("key", {})
        entries = [json.loads(p.read_text()) for p in path.glob("*.json") if p.name != "key.json"]
        used = path / "last_used"
        out.append(
            {
                "id": path.name,
                "backbone": parts.get("backbone"),
                "cut": parts.get("cut"),
                "image_size": parts.get("image_size"),
                "feature_shape": parts.get("feature_shape"),
                "dtype": parts.get("dtype"),
                "views": parts.get("views"),
                "datasets": len({e.get("dataset") for e in entries}),
                "rows": sum(e.get("rows", 0) for e in entries),
                "bytes": _dir_bytes(path),
                "last_used": (used if used.exists() else meta).stat().st_mtime,
                "path": str(path),
            }
        )
    return out


def clear(
    root: str | os.PathLike | None = None,
    *,
    ids: list[str] | None = None,
    older_than_days: float | None = None,
) -> list[dict]:
    """Delete cached features and return the `ls` rows deleted.

    With neither `ids` nor `older_than_days`, deletes all of them, this process's
    memory-only caches included.

    Args:
        root: the feature cache folder; defaults to `default_root()`.
        ids: delete only the caches whose id starts with one of these prefixes.
        older_than_days: delete only the caches unused for at least this many days.
    """
    removed = []
    cutoff = None if older_than_days is None else time.time() - older_than_days * 86400
    for row in ls(root):
        if ids is not None and not any(row["id"].startswith(i) for i in ids):
            continue
        if cutoff is not None and row["last_used"] > cutoff:
            continue
        shutil.rmtree(row["path"], ignore_errors=True)
        _MEMORY.pop(row["id"], None)
        removed.append(row)
    if ids is None and cutoff is None:
        # Memory-only caches (cache="memory") have no folder to list, but "all" means them too.
        _MEMORY.clear()
    return removed


def max_bytes() -> int:
    """The disk budget of all feature caches: `$KERASFT_CACHE_MAX_GB` (default 20) GB."""
    try:
        return int(float(os.environ.get("KERASFT_CACHE_MAX_GB", "20")) * (1 << 30))
    except ValueError:
        return 20 << 30


def prune(
    root: str | os.PathLike | None = None, limit: int | None = None, keep: tuple[str, ...] = ()
) -> list[dict]:
    """Delete the least recently used caches until all of them fit in `limit` bytes.

    Args:
        root: the feature cache folder; defaults to `default_root()`.
        limit: the budget in bytes for all caches under `root`; defaults to `max_bytes()`.
        keep: ids of caches that are never deleted (they still count towards `limit`).

    Returns:
        The `ls` rows of the deleted caches.
    """
    limit = max_bytes() if limit is None else limit
    rows = sorted(ls(root), key=lambda r: r["last_used"])
    total = sum(r["bytes"] for r in rows)
    removed = []
    for row in rows:
        if total <= limit:
            break
        if row["id"] in keep:
            continue
        shutil.rmtree(row["path"], ignore_errors=True)
        _MEMORY.pop(row["id"], None)
        total -= row["bytes"]
        removed.append(row)
    return removed
