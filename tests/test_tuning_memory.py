"""Bounded memory over a long search: trials in recycled worker processes (`isolate=`),
against the same search in one process, feature cache on in both (the default)."""

import csv
import json
import os
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from kerasft.tuning import SearchSpace, tune
from kerasft.tuning.backbones import SMALL_CNN

TRIALS, PER_WORKER = 20, 10
BASE = {
    "backbone": SMALL_CNN,
    "weights": None,
    "image_size": 28,
    "epochs": [1, 0],
    "batch_size": 64,
    "cache": "auto",
}
SPACE = {"lr": {"min": 1e-4, "max": 1e-2}}

# The control: the same search as a user runs it without isolate=, in one fresh process;
# the process's RSS is logged at the end of every trial's training.
CONTROL = textwrap.dedent(
    """
    import json, sys
    import keras, psutil
    from kerasft.data.keras_datasets import load_arrays
    from kerasft.tuning import SearchSpace, tune

    directory, trials, base, space, out = sys.argv[1:]


    class RSS(keras.callbacks.Callback):
        def on_train_end(self, logs=None):
            with open(out, "a") as f:
                f.write(f"{psutil.Process().memory_info().rss / 2**20:.1f}\\n")


    (x, y), _, _ = load_arrays("fashion_mnist")
    x, y = x[:96].copy(), y[:96].copy()  # only what the isolated workers hold
    tune(
        (x[:64], y[:64]), (x[64:], y[64:]), space=SearchSpace(json.loads(space),
        only=["lr"]), base=json.loads(base), tuner="random", max_trials=int(trials),
        directory=directory, overwrite=True, export=False, callbacks=[RSS()],
    )
    """
)


@pytest.mark.slow
def test_recycled_workers_keep_a_long_search_within_the_memory_of_ten_trials(
    tmp_path, fashion_mnist, monkeypatch
):
    # Feature caches on disk go to this test's folder, shared by the control and the workers.
    monkeypatch.setenv("KERASFT_CACHE", str(tmp_path / "kerasft-cache"))
    (x, y), _, _ = fashion_mnist
    train, val = (x[:64], y[:64]), (x[64:96], y[64:96])

    # The control runs alongside the isolated search (its own process, its own RSS).
    control_log = tmp_path / "control_rss.txt"
    control_args = [str(tmp_path / "control"), str(TRIALS), json.dumps(BASE), json.dumps(SPACE)]
    control_proc = subprocess.Popen(
        [sys.executable, "-c", CONTROL, *control_args, str(control_log)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    parent = psutil.Process()
    before = parent.memory_info().rss / 2**20
    start = time.monotonic()
    result = tune(
        train,
        val,
        space=SearchSpace(SPACE, only=["lr"]),
        base=BASE,
        tuner="random",
        max_trials=TRIALS,
        isolate=PER_WORKER,
        directory=tmp_path / "isolated",
        overwrite=True,
        export=False,
    )
    isolated_s = time.monotonic() - start
    parent_growth = parent.memory_info().rss / 2**20 - before
    try:
        output = control_proc.communicate(timeout=300)[0]
    finally:
        if control_proc.poll() is None:
            control_proc.kill()
            control_proc.wait()
    control_s = time.monotonic() - start
    assert control_proc.returncode == 0, output[-3000:]
    control = [float(v) for v in control_log.read_text().split()]
    assert len(control) == TRIALS
    assert len(result.rows) == TRIALS and {r["status"] for r in result.rows} == {"COMPLETED"}
    with open(result.directory / "isolate" / "memory.csv") as f:
        log = list(csv.DictReader(f))
    workers = {}
    for row in log:
        workers.setdefault(row["worker"], []).append(float(row["rss_mb"]))
    # Recycling happened: two workers of ten trials each ran the twenty trials.
    assert sorted(len(v) for v in workers.values()) == [PER_WORKER] * (TRIALS // PER_WORKER)

    report = {
        "control_rss_mb": control,
        "control_growth_mb": control[-1] - control[0],
        "control_growth_trials_1_to_10_mb": control[PER_WORKER - 1] - control[0],
        "isolated_workers_rss_mb": workers,
        "isolated_parent_growth_mb": parent_growth,
        "control_s": control_s,
        "isolated_s": isolated_s,
    }
    (tmp_path / "memory.json").write_text(json.dumps(report, indent=1))
    peak = max(max(v) for v in workers.values())
    print(
        f"\n[memory] one process: {control[0]:.0f} MB after trial 1, "
        f"{control[PER_WORKER - 1]:.0f} MB after {PER_WORKER}, {control[-1]:.0f} MB after "
        f"{TRIALS} ({control_s:.0f} s); isolate={PER_WORKER}: workers peak {peak:.0f} MB, "
        f"each {[f'{v[0]:.0f}->{v[-1]:.0f}' for v in workers.values()]} MB, parent "
        f"+{parent_growth:.0f} MB ({isolated_s:.0f} s, the control alongside)"
    )
    # Over twenty trials the isolated search grows no more than ten trials in one process do
    # (the control from its first to its tenth trial); the parent, which only serves the
    # oracle, barely grows.
    first = workers[log[0]["worker"]][0]
    assert peak - first < report["control_growth_trials_1_to_10_mb"] + 25, report
    assert parent_growth < 50, report
