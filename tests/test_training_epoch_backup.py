"""`EpochBackup` backs up slow epochs every time and very short ones only now and then."""

from __future__ import annotations

import json
import time

import keras
import numpy as np
import pytest

from kerasft.training.epoch_backup import EpochBackup


class Saves(keras.callbacks.Callback):
    """Records the epoch counter the backup holds at each epoch end."""

    def __init__(self, backup: EpochBackup, sleep: float = 0.0):
        super().__init__()
        self.backup, self.sleep, self.seen = backup, sleep, []

    def on_epoch_begin(self, epoch, logs=None):
        time.sleep(self.sleep)  # stands in for a long epoch

    def on_epoch_end(self, epoch, logs=None):
        path = self.backup._training_metadata_path
        try:
            with open(path) as f:
                self.seen.append(json.load(f)["epoch"])
        except FileNotFoundError:
            self.seen.append(None)


def fit(tmp_path, sleep: float, epochs: int = 4, **kwargs):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile("sgd", "mse")
    backup = EpochBackup(tmp_path / "backup", delete_checkpoint=False, **kwargs)
    saves = Saves(backup, sleep)
    model.fit(np.ones((8, 3)), np.ones((8, 2)), epochs=epochs, callbacks=[backup, saves], verbose=0)
    return saves.seen


def test_slow_epochs_are_backed_up_every_time(tmp_path):
    EpochBackup._costs.clear()
    assert fit(tmp_path, sleep=0.3) == [1, 2, 3, 4]


def test_short_epochs_wait_until_a_backup_is_worth_its_cost(tmp_path):
    EpochBackup._costs.clear()
    # Backups of this model are known to take 1 s: six epochs of milliseconds are not worth
    # one (that takes 4 s of training at the default 25% overhead).
    EpochBackup._costs[
        keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]).count_params()
    ] = 1.0
    seen = fit(tmp_path, sleep=0.0, epochs=6)
    assert seen == [None] * 6


def test_no_overhead_limit_backs_up_every_epoch(tmp_path):
    EpochBackup._costs.clear()
    EpochBackup._costs[
        keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]).count_params()
    ] = 1.0
    assert fit(tmp_path, sleep=0.0, epochs=6, max_overhead=None) == [1, 2, 3, 4, 5, 6]


def test_bad_overhead_is_refused(tmp_path):
    with pytest.raises(ValueError, match="max_overhead=0"):
        EpochBackup(tmp_path, max_overhead=0)
