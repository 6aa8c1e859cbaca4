"""Crash-safe fine-tuning: a killed run, started again on the same run directory, resumes.

Within a phase, `EpochBackup` (Keras's `BackupAndRestore`, its cost held to a share of the
training time) brings back the last backed-up epoch (weights, optimizer state, epoch counter).
Between phases, a finished phase leaves its weights and wall time under
`run_dir/checkpoints/`, so a restart skips it. The full history is read back from
`history.csv`, which `CSVLogger` appends to across restarts; `HistoryTrim` first drops the
rows of epochs the restart runs again, so each epoch is logged once.
"""

from __future__ import annotations

import csv
import json
import os
import time
from pathlib import Path

import keras
import numpy as np

from kerasft import compat
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

    It must come after the other callbacks (an `EarlyStopping` restores its best weights when
    the phase ends: those are what the next phase starts from) and just before
    `BackupAndRestore`, so the phase is recorded before Keras deletes the backup.
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


def backup(run_dir, phase: int, max_overhead: float | None = 0.25) -> EpochBackup:
    # A SIGKILL during a backup leaves a torn file; with the previous backup kept, the
    # restart falls back to it.
    return EpochBackup(
        os.path.join(run_dir, "backup", f"phase_{phase}"),
        max_overhead=max_overhead,
        double_checkpoint=True,
    )


def trim_history(path, first_epoch: int) -> None:
    """Cut `history.csv` before its first row of an epoch >= `first_epoch` (or a torn row)."""
    if not os.path.exists(path):
        return
    with open(path, "rb") as f:
        lines = f.readlines()
    offset = len(lines[0]) if lines else 0  # the header stays
    for line in lines[1:]:
        field = line.split(b",", 1)[0]
        if not line.endswith(b"\n") or not field.isdigit() or int(field) >= first_epoch:
            break
        offset += len(line)
    # In place, not a new file: CSVLogger already holds it open for appending.
    os.truncate(path, offset)


class HistoryTrim(keras.callbacks.Callback):
    """Drops the rows of `history.csv` from the epoch a (re)started phase runs first.

    A run killed mid-phase has logged epochs after its last backup (all of the phase's, when
    none was backed up yet); the restart runs them again. It must come after the phase's
    backup in the callback list, whose `on_train_begin` restores the epoch to go on from.
    """

    def __init__(self, path, initial_epoch: int):
        super().__init__()
        self.path, self.initial_epoch = path, initial_epoch

    def on_train_begin(self, logs=None):
        resumed = compat.resume_epoch(self.model)
        trim_history(self.path, self.initial_epoch if resumed is None else resumed)

    def get_config(self):
        return {"path": os.fspath(self.path), "initial_epoch": self.initial_epoch}


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
