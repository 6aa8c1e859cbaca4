"""Crash safety of `kerasft tune`: SIGKILL mid-trial, run the same command, nothing lost."""

import csv
import os
import signal
import subprocess
import sys
import time

import yaml

from kerasft.training.resume import history_from_csv
from kerasft.tuning.backbones import SMALL_CNN

HEAD, FT = 2, 6


def tiny_config(directory, **search) -> dict:
    """A `kerasft tune` YAML: the tiny CNN on 512 Fashion-MNIST images, lr and dropout tuned."""
    return {
        "backbone": SMALL_CNN,
        "weights": None,
        "data": "fashion_mnist",
        "train_samples": 512,
        "val_samples": 64,
        "image_size": 32,
        "epochs": [HEAD, FT],
        "batch_size": 32,
        "unfreeze_blocks": 1,
        "verbose": 0,
        # Every epoch backed up: by default very short epochs are backed up only every few
        # epochs (by their measured cost), which would make the resume point depend on load.
        "backup_overhead": None,
        "tuner": "random",
        "max_trials": 3,
        "only": ["lr", "dropout"],
        "directory": str(directory),
        **search,
    }


def tune_command(config_path, *flags):
    return [sys.executable, "-m", "kerasft", "tune", str(config_path), *flags]


def quiet_env():
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}


def rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_killed_search_resumes_mid_trial(tmp_path):
    config = tmp_path / "tune.yaml"
    config.write_text(yaml.safe_dump(tiny_config(tmp_path / "runs")))
    project = tmp_path / "runs" / "search"
    killed = project / "trial_1" / "run" / "history.csv"
    proc = subprocess.Popen(
        tune_command(config), env=quiet_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 120
        # Kill in trial 1's fine-tuning phase, after two of its epochs have been logged.
        while time.monotonic() < deadline and proc.poll() is None:
            if killed.exists() and len(killed.read_text().splitlines()) >= 1 + HEAD + 2:
                break
            time.sleep(0.02)
        assert proc.poll() is None, proc.stdout.read().decode()[-3000:]
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    first_trial = (project / "trial_0" / "run" / "history.csv").read_text()
    before = rows(killed)
    assert HEAD + 2 <= len(before) < HEAD + FT, "killed too late to test resuming"
    assert not (project / "results.csv").exists()

    done = subprocess.run(tune_command(config), env=quiet_env(), capture_output=True, timeout=180)
    assert done.returncode == 0, done.stdout.decode()[-3000:] + done.stderr.decode()[-3000:]

    # The finished trial was not re-run.
    assert (project / "trial_0" / "run" / "history.csv").read_text() == first_trial
    # The killed trial went on from its last finished epoch: phase 1 was not repeated, at
    # most the epoch in flight at the kill ran again, and its row was replaced, not repeated.
    after = rows(killed)
    assert [int(r["epoch"]) for r in after] == list(range(HEAD + FT))
    resumed_from = next((i for i, (a, b) in enumerate(zip(after, before)) if a != b), len(before))
    assert resumed_from >= len(before) - 1 >= HEAD
    full = history_from_csv(killed)
    assert full["epoch"] == list(range(HEAD + FT))
    # Every trial is recorded once, and the resumed trial's score spans all its epochs,
    # those logged before the kill included.
    table = rows(project / "results.csv")
    assert sorted(r["trial"] for r in table) == ["0", "1", "2"]
    assert {r["status"] for r in table} == {"COMPLETED"}
    score = float(next(r for r in table if r["trial"] == "1")["objective"])
    assert score == max(full["history"]["val_accuracy"])
    assert (project / "best_model.keras").stat().st_size > 0
