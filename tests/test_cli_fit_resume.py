"""`kerasft fit` killed with SIGKILL resumes when the same command runs again.

The default recipe (feature cache on, BatchNorm trained, cosine phase 2, kerasft's own epoch
backups) on a small real Fashion-MNIST subset: killed in phase 1, run again and killed in
phase 2, run again to the end.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import re
import signal
import subprocess
import sys
import threading

import pytest

from kerasft import config

TRAIN, VAL, HEAD, FT = 1000, 200, 16, 3  # many short head epochs: time to kill in phase 1
STEPS = math.ceil(TRAIN / config.DEFAULTS["batch_size"])


def fit(run_dir, kill_at=None, timeout=600):
    """Run `kerasft fit`; with `kill_at`, SIGKILL it as soon as it prints that line."""
    command = [
        sys.executable, "-m", "kerasft", "fit", "--train-samples", str(TRAIN),
        "--val-samples", str(VAL), "--image-size", "32", "--epochs", str(HEAD), str(FT),
        "--run-dir", str(run_dir),
    ]  # fmt: skip
    env = dict(os.environ, PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="2")
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    out = []
    watchdog = threading.Timer(timeout, process.kill)  # a run stuck anywhere
    watchdog.start()
    for line in process.stdout:
        out.append(line.rstrip("\n"))
        if out[-1] == kill_at:
            os.kill(process.pid, signal.SIGKILL)
            break
    timed_out = not watchdog.is_alive()
    watchdog.cancel()
    process.wait(timeout=60)
    assert not timed_out, f"not done within {timeout} s:\n" + "\n".join(out[-40:])
    want = 0 if kill_at is None else -signal.SIGKILL
    assert process.returncode == want, "\n".join(out[-40:])
    return out


def epoch_lines(out, phase):
    """The epochs (1-based) a phase started, from Keras's "Epoch k/N" lines."""
    total = HEAD if phase == 1 else HEAD + FT
    return [int(m[1]) for line in out if (m := re.fullmatch(rf"Epoch (\d+)/{total}", line))]


def rows(run_dir):
    with open(run_dir / "history.csv") as f:
        return list(csv.DictReader(f))


def backed_up_epoch(run_dir, phase):
    """The epoch a restart of `phase` goes on from, as its last backup says."""
    path = run_dir / "backup" / f"phase_{phase}" / "training_metadata.json"
    return json.loads(path.read_text())["epoch"]


def phase_1_state(run_dir):
    weights = run_dir / "checkpoints" / "phase_1.npz"
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    return digest, weights.stat().st_mtime_ns, rows(run_dir)[:HEAD]


def cosine(epoch):
    """The default `ft_schedule: cosine` rate logged at the end of `epoch` (its last step),
    after the default linear warm-up over `ft_warmup` of phase 2's steps."""
    step = (epoch - HEAD) * STEPS + STEPS - 1
    warmup = round(config.DEFAULTS["ft_warmup"] * FT * STEPS)
    if step < warmup:
        return config.DEFAULTS["ft_lr"] * step / warmup
    decay = (step - warmup) / (FT * STEPS - warmup)
    return config.DEFAULTS["ft_lr"] * 0.5 * (1 + math.cos(math.pi * decay))


@pytest.mark.slow
def test_killed_in_each_phase_the_same_command_resumes_and_finishes(
    tmp_path, fashion_mnist, imagenet_mobilenet
):
    run_dir = tmp_path / "run"

    # Killed in phase 1, once its eighth epoch has begun. The first epoch is backed up (a
    # process always takes its first backup); of the short ones after it, only some are.
    fit(run_dir, kill_at=f"Epoch 8/{HEAD}")
    assert not (run_dir / "checkpoints" / "phase_1.npz").exists()  # phase 1 was not over
    resume_1 = backed_up_epoch(run_dir, 1)
    assert 1 <= resume_1 < HEAD

    # The same command: phase 1 goes on from its backup; killed once phase 2's second epoch
    # has begun.
    second = fit(run_dir, kill_at=f"Epoch {HEAD + 2}/{HEAD + FT}")
    assert any("resuming unfinished run" in line for line in second)
    assert epoch_lines(second, 1) == list(range(resume_1 + 1, HEAD + 1))
    assert not (run_dir / "metrics.json").exists()
    # Head epochs logged after the last backup ran again; each is in the history once.
    epochs = [int(r["epoch"]) for r in rows(run_dir)]
    assert epochs == list(range(len(epochs))) and len(epochs) > HEAD
    resume_2 = backed_up_epoch(run_dir, 2)
    assert resume_2 > HEAD, "no phase-2 epoch was backed up: nothing to resume mid-phase"
    before = phase_1_state(run_dir)

    # The same command again: phase 1 is skipped, phase 2 goes on from its backup.
    third = fit(run_dir)
    assert epoch_lines(third, 1) == []
    assert epoch_lines(third, 2) == list(range(resume_2 + 1, HEAD + FT + 1))
    assert any("block_7 features reused" in line for line in third)  # trained cached
    assert phase_1_state(run_dir) == before  # phase-1 checkpoint and rows untouched
    history = rows(run_dir)
    assert [int(r["epoch"]) for r in history] == list(range(HEAD + FT))  # each epoch once
    lrs = [float(r["learning_rate"]) for r in history]
    assert lrs[:HEAD] == pytest.approx([config.DEFAULTS["lr"]] * HEAD, rel=1e-6)
    # The cosine goes on where it was; restarted at resume_2 it would decay over fewer epochs.
    assert lrs[HEAD:] == pytest.approx([cosine(e) for e in range(HEAD, HEAD + FT)], rel=1e-5)

    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert set(metrics) == {
        "class_names", "data", "epochs", "test_accuracy", "test_macro_f1", "test_samples", "train_samples",
        "val_accuracy", "val_samples", "wall_time_s",
    }  # fmt: skip
    assert metrics["epochs"] == HEAD + FT
    assert (metrics["train_samples"], metrics["val_samples"]) == (TRAIN, VAL)
    assert metrics["test_samples"] == len(fashion_mnist[1][1])
    assert metrics["class_names"] == list(fashion_mnist[2])
    assert metrics["val_accuracy"] == float(history[-1]["val_accuracy"])
    walls = metrics["wall_time_s"]
    assert set(walls) == {"data", "phase_1", "phase_2", "evaluate", "total"}
    # Phase 1's time is the one recorded when it finished, not a re-measured skip.
    record = json.loads((run_dir / "checkpoints" / "phase_1.json").read_text())
    assert walls["phase_1"] == record["wall_time_s"] > 0
    assert 0 < walls["phase_2"] < walls["total"] and 0 < walls["evaluate"] < walls["total"]
    assert metrics["test_accuracy"] > 0.4  # it learned (chance is 0.10)
