"""Bounded memory over a long search: trials in recycled worker processes (`isolate=`)."""

import csv

import numpy as np
import psutil

from kerasft.tuning import SearchSpace, tune
from kerasft.tuning.backbones import SMALL_CNN


def test_thirty_trials_in_recycled_workers_keep_memory_flat(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, (32, 32, 32, 3)).astype("uint8")
    y = np.arange(32) % 3
    space = SearchSpace({"lr": {"min": 1e-4, "max": 1e-2}}, only=["lr"])
    base = {
        "backbone": SMALL_CNN,
        "weights": None,
        "image_size": 32,
        "epochs": [1, 0],
        "batch_size": 32,
        "cache": "off",
    }
    parent = psutil.Process()
    before = parent.memory_info().rss
    result = tune(
        (x, y),
        (x[:16], y[:16]),
        space=space,
        base=base,
        tuner="random",
        max_trials=30,
        isolate=10,
        cache="off",
        directory=tmp_path,
        overwrite=True,
        export=False,
    )
    parent_growth_mb = (parent.memory_info().rss - before) / 2**20
    assert sorted(r["trial"] for r in result.rows) == [f"{i:02d}" for i in range(30)]
    assert {r["status"] for r in result.rows} == {"COMPLETED"}
    with open(result.directory / "isolate" / "memory.csv") as f:
        log = list(csv.DictReader(f))
    assert len(log) == 30 and len({r["worker"] for r in log}) == 3
    rss = [float(r["rss_mb"]) for r in log]
    growth_mb = np.mean(rss[-10:]) - np.mean(rss[:10])
    print(
        f"\n[memory] worker RSS first 10 trials {np.mean(rss[:10]):.0f} MB, last 10 "
        f"{np.mean(rss[-10:]):.0f} MB; parent grew {parent_growth_mb:.0f} MB"
    )
    # In one process the same search grows ~10 MB per trial (~200 MB from first to last 10).
    assert growth_mb < 40
    assert parent_growth_mb < 150
