"""Run directories: one folder per run holding everything a run produces."""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path


def new_run_dir(base: str | os.PathLike = "runs", prefix: str = "fit") -> Path:
    """`runs/fit-YYYYmmdd-HHMMSS` (with a suffix if that exists already)."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = Path(base) / f"{prefix}-{stamp}"
    n = 1
    while path.exists():
        n += 1
        path = Path(base) / f"{prefix}-{stamp}-{n}"
    path.mkdir(parents=True)
    return path


def write_json(path: str | os.PathLike, data: dict) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2, sort_keys=True, default=float)
    os.replace(tmp, path)  # never leave a half-written file behind
