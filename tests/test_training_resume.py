"""A `fine_tune` process killed with SIGKILL mid-phase resumes from its last backed-up epoch.

Each run is a real Python process training ImageNet MobileNet on real Fashion-MNIST images
through `kft.fine_tune(run_dir=...)`, with kerasft's own `EpochBackup`. The test kills it
(SIGKILL) in the middle of an epoch: first in phase 1, then, after a restart, in phase 2; a
third start finishes the run.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

HEAD, FT, TRAIN, BATCH, FT_LR = 3, 3, 192, 32, 5e-4
STEPS = math.ceil(TRAIN / BATCH)  # steps per epoch

JOB = f"""
import json, sys, time
import keras
import kerasft as kft
from kerasft.callbacks import PhaseCosine
from kerasft.data.keras_datasets import load_arrays

run_dir, cache, hang_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
overhead = None if sys.argv[4] == "none" else float(sys.argv[4])
HEAD, FT, TRAIN, BATCH, FT_LR = {(HEAD, FT, TRAIN, BATCH, FT_LR)}


class Probe(keras.callbacks.Callback):
    # Says which epochs start; at `hang_at` it stops after the epoch's first batch (trained,
    # not backed up) and waits there to be killed.
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        print("begin", epoch, flush=True)

    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == hang_at and batch == 0:
            print("hang", self.epoch, flush=True)
            time.sleep(600)


(x, y), _, _ = load_arrays("fashion_mnist")
train, val = (x[:TRAIN], y[:TRAIN]), (x[TRAIN:TRAIN + 64], y[TRAIN:TRAIN + 64])
keras.utils.set_random_seed(0)
model = kft.build("mobilenet", 10, input_shape=(28, 28, 1), image_size=32, weights="imagenet")
history = kft.fine_tune(
    model, train, val, epochs=(HEAD, FT), ft_lr=FT_LR, batch_size=BATCH, cache=cache,
    run_dir=run_dir, backup_overhead=overhead, verbose=0,
    callbacks=[PhaseCosine(phase=2), Probe()],
)
print("result", json.dumps({{
    "epoch": history.epoch,
    "learning_rate": history.history["learning_rate"],
    "val_loss": history.history["val_loss"],
    "iterations": int(model.optimizer.iterations),
}}), flush=True)
"""


def start(run_dir, cache, hang_at, overhead="none"):
    return subprocess.Popen(
        [sys.executable, "-c", JOB, str(run_dir), cache, str(hang_at), overhead],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="2"),
    )


def lines(process, until=None, timeout=300):
    """The process's `begin`/`hang`/`result` lines, up to `until` (then SIGKILL) or its exit."""
    seen, tail = [], []
    watchdog = threading.Timer(timeout, process.kill)  # a run stuck anywhere else
    watchdog.start()
    for line in process.stdout:
        tail = (tail + [line])[-40:]
        words = line.split(maxsplit=1)
        if words and words[0] in ("begin", "hang", "result"):
            seen.append((words[0], words[1].strip()))
        if until is not None and seen and seen[-1] == until:
            os.kill(process.pid, signal.SIGKILL)
            break
    timed_out = not watchdog.is_alive()
    watchdog.cancel()
    process.wait(timeout=60)
    assert not timed_out, f"no {until} within {timeout} s:\n" + "".join(tail)
    if until is None:
        assert process.returncode == 0, "".join(tail)
    else:
        assert process.returncode == -signal.SIGKILL, "".join(tail)
    return seen


def began(seen):
    return [int(value) for what, value in seen if what == "begin"]


def csv_epochs(run_dir):
    with open(run_dir / "history.csv") as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


def cosine(epoch):
    """The rate `PhaseCosine(phase=2)` logs at the end of `epoch` (its last step's rate)."""
    step = (epoch - HEAD) * STEPS + STEPS - 1
    return FT_LR * 0.5 * (1 + math.cos(math.pi * step / (FT * STEPS)))


def run_all(jobs):
    """`{name: (run_dir, cache, hang_at, overhead)}` run side by side (mostly start-up time)."""

    def one(run_dir, cache, hang_at, overhead):
        until = None if hang_at < 0 else ("hang", str(hang_at))
        return lines(start(run_dir, cache, hang_at, overhead), until)

    with ThreadPoolExecutor(len(jobs)) as pool:
        futures = {name: pool.submit(one, *job) for name, job in jobs.items()}
        return {name: future.result() for name, future in futures.items()}


def phase_1_state(run_dir):
    phase_1 = run_dir / "checkpoints" / "phase_1.npz"
    with open(run_dir / "history.csv") as f:
        rows = f.readlines()[: 1 + HEAD]
    return hashlib.sha256(phase_1.read_bytes()).hexdigest(), phase_1.stat().st_mtime_ns, rows


@pytest.mark.slow
def test_sigkilled_runs_resume_where_their_backups_left_off(
    tmp_path, fashion_mnist, imagenet_mobilenet
):
    # Two runs back up every epoch (backup_overhead=None), uncached and cached. A third
    # (cached) allows backups almost no time: only the first epoch a process runs is backed
    # up, so its restarts go back to that epoch and run logged epochs again.
    dirs = {name: tmp_path / name for name in ("off", "auto", "sparse")}
    setup = {"off": ("off", "none"), "auto": ("auto", "none"), "sparse": ("auto", "1e-9")}

    def step(hang_at):
        jobs = {name: (dirs[name], *setup[name][:1], hang_at, setup[name][1]) for name in dirs}
        return run_all(jobs)

    # Killed in phase 1, during epoch 2 (epochs 0 and 1 logged).
    for name, seen in step(hang_at=2).items():
        assert began(seen) == [0, 1, 2], name
        assert csv_epochs(dirs[name]) == [0, 1], name
        assert not (dirs[name] / "checkpoints" / "phase_1.npz").exists(), name

    # Restarted: phase 1 goes on from epoch 2 (from 1, the last backed-up epoch, for
    # "sparse"); killed in phase 2, during epoch 5.
    phase_1 = {}
    for name, seen in step(hang_at=5).items():
        assert began(seen) == ([1, 2, 3, 4, 5] if name == "sparse" else [2, 3, 4, 5]), name
        assert csv_epochs(dirs[name]) == [0, 1, 2, 3, 4], name  # no epoch logged twice
        phase_1[name] = phase_1_state(dirs[name])

    # Restarted again: phase 1 is not trained again, phase 2 goes on from epoch 5 (from its
    # start for "sparse", whose phase 2 had no backup).
    for name, seen in step(hang_at=-1).items():
        run_dir = dirs[name]
        assert began(seen) == ([3, 4, 5] if name == "sparse" else [5]), name
        result = json.loads(seen[-1][1])
        assert csv_epochs(run_dir) == list(range(HEAD + FT)), name  # each epoch once
        assert result["epoch"] == list(range(HEAD + FT)), name
        assert all(v is not None for v in result["val_loss"]), name
        # The phase-1 checkpoint and rows are untouched.
        assert phase_1_state(run_dir) == phase_1[name], name
        # The phase-2 cosine goes on where it was: a schedule restarted at epoch 5 would
        # decay over one epoch, not three.
        lrs = result["learning_rate"]
        assert lrs[:HEAD] == pytest.approx([1e-3] * HEAD, rel=1e-6), name
        want = [cosine(e) for e in range(HEAD, HEAD + FT)]
        assert lrs[HEAD:] == pytest.approx(want, rel=1e-5), name
        # The optimizer state came back with the backup: Adam counted every phase-2 step,
        # the ones run before the kill included.
        assert result["iterations"] == FT * STEPS, name
        assert not any((run_dir / "backup").glob("*/*")), name  # backups gone once done
