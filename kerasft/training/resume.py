"""Crash-safe fine-tuning: a killed run, started again on the same run directory, resumes.

Within a phase, `EpochBackup` (Keras's `BackupAndRestore`, its cost held to a share of the
training time) brings back the last backed-up epoch (weights, optimizer state, epoch counter).
Between phases, a finished phase leaves its weights and wall time under
`run_dir/checkpoints/`, so a restart skips it. The full history is read back from
`history.csv`, which `CSVLogger` appends to across restarts.
"""

from __future__ import annotations

import csv
import json
import os
import time
from pathlib import Path

import keras
import numpy as np

from kerasft.training.epoch_backup import EpochBackup


def _paths(run_dir, phase: int) -> tuple[Path, Path]:
    base = Path(run_dir) / "checkpoints"
    return base / f"phase_{phase}.npz", base / f"phase_{phase}.json"


def finished_phase(run_dir, phase: int) -> dict | None:
    """The record of `phase` if it finished in `run_dir` before, else None."""
    if run_dir is None:
        return None
    weights, record = _paths(run_dir, phase)
    if not (weights.exists() and record.exists()):
        return None
    return json.loads(record.read_text())


def restore_phase(model: keras.Model, run_dir, phase: int) -> None:
    """Load the weights `model` had when `phase` finished."""
    weights, _ = _paths(run_dir, phase)
    with np.load(weights) as saved:
        for i, variable in enumerate(model.weights):
            variable.assign(saved[f"w{i}"])


class PhaseCheckpoint(keras.callbacks.Callback):
    """Saves the full model's weights and the phase's wall time when a phase ends.

    It must come before `BackupAndRestore` in the callback list, so the phase is recorded
    before Keras deletes the backup.
    """

    def __init__(self, full_model: keras.Model, run_dir, phase: int):
        super().__init__()
        self.full_model, self.run_dir, self.phase = full_model, run_dir, phase

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()

    def on_train_end(self, logs=None):
        weights, record = _paths(self.run_dir, self.phase)
        weights.parent.mkdir(parents=True, exist_ok=True)
        tmp = weights.with_suffix(".tmp.npz")
        np.savez(tmp, **{f"w{i}": v.numpy() for i, v in enumerate(self.full_model.weights)})
        os.replace(tmp, weights)
        record.write_text(json.dumps({"wall_time_s": time.perf_counter() - self._start}))

    def get_config(self):
        return {"run_dir": os.fspath(self.run_dir), "phase": self.phase}


def backup(run_dir, phase: int) -> keras.callbacks.BackupAndRestore:
    # A SIGKILL during a backup leaves a torn file; with the previous backup kept, the
    # restart falls back to it.
    return EpochBackup(os.path.join(run_dir, "backup", f"phase_{phase}"), double_checkpoint=True)


def history_from_csv(path) -> dict[str, list]:
    """Per-epoch logs from `history.csv`, one row per epoch (a re-run epoch's last row wins)."""
    rows: dict[int, dict] = {}
    with open(path) as f:
        for row in csv.DictReader(f):
            rows[int(row.pop("epoch"))] = row
    epochs = sorted(rows)
    keys = sorted({k for row in rows.values() for k in row})
    history = {
        # CSVLogger writes "NA" for a key an epoch did not log.
        key: [
            float(rows[e][key]) if rows[e].get(key) not in (None, "", "NA") else None
            for e in epochs
        ]
        for key in keys
    }
    return {"epoch": epochs, "history": history}
