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


def unfinished_run(
    config: dict, base: str | os.PathLike = "runs", prefix: str = "fit"
) -> Path | None:
    """The newest run under `base` with the same config and no `metrics.json` (killed), if any."""
    import yaml

    wanted = {k: v for k, v in config.items() if k != "run_dir"}
    for path in sorted(Path(base).glob(f"{prefix}-*"), reverse=True):
        if (path / "metrics.json").exists() or not (path / "config.yaml").exists():
            continue
        saved = yaml.safe_load((path / "config.yaml").read_text()) or {}
        if {k: v for k, v in saved.items() if k != "run_dir"} == wanted:
            return path
    return None
