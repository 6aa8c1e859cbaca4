"""`kerasft fit` killed with SIGKILL mid-run resumes when the same command runs again."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time


def _rows(path):
    if not path.exists():
        return []
    with open(path) as f:
        return list(csv.DictReader(f))


def test_sigkill_then_same_command_resumes_with_complete_history(
    tmp_path, fashion_mnist, imagenet_mobilenet
):
    run_dir = tmp_path / "run"
    command = [
        sys.executable, "-m", "kerasft", "fit", "--train-samples", "400", "--val-samples", "40",
        "--image-size", "32", "--epochs", "2", "2", "--batch-size", "20", "--cache", "off",
        "--run-dir", str(run_dir), "--set", "verbose=2",
    ]  # fmt: skip
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    deadline = time.time() + 300
    # Kill just after phase 1 is over: the process is then inside phase 2's first epoch.
    while not (run_dir / "checkpoints" / "phase_1.npz").exists() and time.time() < deadline:
        assert first.poll() is None, first.stdout.read().decode()[-3000:]
        time.sleep(0.1)
    time.sleep(1.0)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    assert not (run_dir / "metrics.json").exists()
    assert len(_rows(run_dir / "history.csv")) < 4

    second = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert "resuming unfinished run" in second.stdout
    assert "Epoch 1/4" not in second.stdout  # phase 1 was not trained again
    epochs = [int(r["epoch"]) for r in _rows(run_dir / "history.csv")]
    assert sorted(set(epochs)) == [0, 1, 2, 3]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["epochs"] == 4
    assert 0.0 <= metrics["test_accuracy"] <= 1.0
