"""How much memory and disk a cache needs and may use; where it should live."""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

import numpy as np

MODES = ("auto", "memory", "disk", "off")
# Leave room for the model, the training pipeline and everything else in the process.
MEMORY_FRACTION = 0.5
DISK_FRACTION = 0.8


def available_memory() -> int:
    """Bytes of RAM available to new allocations (MemAvailable), or 0 if unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 0


def available_disk(path: str | os.PathLike) -> int:
    """Free bytes on the file system holding `path` (or its nearest existing parent)."""
    path = Path(path)
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return 0


def estimate_bytes(rows: int, row_shape, dtype="float16", views: int = 1) -> int:
    """Bytes of a cache of `rows` samples with features of shape `row_shape`.

    Args:
        rows: number of samples cached.
        row_shape: shape of one sample's features (without the batch axis).
        dtype: dtype the features are stored in.
        views: stored views per sample (more than 1 with cached augmentations).

    Returns:
        The size in bytes, as an int.

    Example:

    >>> from kerasft.cache import estimate_bytes
    >>> estimate_bytes(60000, (4, 4, 512), "float16")
    983040000
    """
    return int(rows * views * math.prod(row_shape) * np.dtype(dtype).itemsize)


def human(nbytes: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(nbytes) < 1024 or unit == "TB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    return f"{nbytes:.1f} TB"


def choose_mode(
    mode: str,
    nbytes: int,
    root: str | os.PathLike,
    *,
    memory: int | None = None,
    disk: int | None = None,
) -> tuple[str, str | None]:
    """The mode to use for a cache of `nbytes`, and a message when it differs from `mode`.

    "auto" keeps the features in RAM and on disk (reused by later runs) when both fit, on
    disk only (memory-mapped) when RAM is short, and turns the cache off when neither fits.
    "memory" falls back to "disk", and "disk" to "off", when their budget is exceeded.

    Args:
        mode: the requested mode: "auto", "memory", "disk" or "off".
        nbytes: bytes the cache needs (see `estimate_bytes`).
        root: the folder the cache would be written to; its free space is the disk budget.
        memory: bytes of RAM available; by default the system's available memory. Half of
            it may be used.
        disk: bytes free under `root`; by default measured there. 80% of it may be used.

    Returns:
        A tuple `(mode, message)`: the mode to use, one of "memory+disk", "memory", "disk",
        "off", and a message explaining the change, or `None` when no explanation is due.
    """
    memory = available_memory() if memory is None else memory
    disk = available_disk(root) if disk is None else disk
    fits_ram = nbytes <= MEMORY_FRACTION * memory
    fits_disk = nbytes <= DISK_FRACTION * disk
    need = human(nbytes)
    if mode == "off":
        return "off", None
    if mode == "memory":
        if fits_ram:
            return "memory", None
        if fits_disk:
            return "disk", (
                f"kerasft cache: the features need {need} but only {human(memory)} of RAM is "
                f"available; keeping them on disk in {root} (memory-mapped) instead."
            )
        return "off", (
            f"kerasft cache: the features need {need}; neither RAM ({human(memory)} available) "
            f"nor disk ({human(disk)} free in {root}) has room. Training without the cache."
        )
    if mode == "disk":
        if fits_disk:
            return "disk", None
        return "off", (
            f"kerasft cache: the features need {need} but {root} has {human(disk)} free. "
            "Training without the cache; pass cache_dir= on a larger disk."
        )
    if fits_ram and fits_disk:
        return "memory+disk", None
    if fits_ram:
        return "memory", (
            f"kerasft cache: {root} has {human(disk)} free, less than the {need} the features "
            "need; keeping them in RAM for this run only."
        )
    if fits_disk:
        return "disk", (
            f"kerasft cache: the features need {need}, more than half of the {human(memory)} "
            f"of available RAM; memory-mapping them from {root}."
        )
    return "off", (
        f"kerasft cache: the features need {need}; neither RAM ({human(memory)} available) nor "
        f"disk ({human(disk)} free in {root}) has room. Training without the cache."
    )
