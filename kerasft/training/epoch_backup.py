"""`EpochBackup`: Keras's `BackupAndRestore`, with its cost held to a share of training time."""

from __future__ import annotations

import os
import time

import keras


class EpochBackup(keras.callbacks.BackupAndRestore):
    """Back up at the end of an epoch, unless backups would cost more than `max_overhead`
    of the training time.

    A backup writes the whole model and its optimizer state (about half a second for a
    MobileNet on 2 CPU cores). When an epoch takes minutes that is nothing; when it takes a
    fraction of a second (a head trained on cached features, as in every cached tuner trial)
    backing up each epoch would cost more than the training. So an epoch's end is backed up
    only once the training since the last backup has lasted `1 / max_overhead` times what
    the last backup of a model of that size took. A run killed in between resumes from the
    last backup and redoes at most that much work. The first backup in a process is always
    taken: that is how its cost is learned.

    Args:
        backup_dir: as for `BackupAndRestore`.
        max_overhead: the largest share of training time spent backing up, or None to back
            up at the end of every epoch whatever it costs.

    Example:

    >>> import numpy as np, keras
    >>> from kerasft.training.epoch_backup import EpochBackup
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    >>> model.compile("sgd", "mse")
    >>> backup = EpochBackup("/tmp/kft-epoch-backup-doc")
    >>> _ = model.fit(np.ones((8, 3)), np.ones(8), epochs=2, callbacks=[backup], verbose=0)
    >>> backup.get_config()["max_overhead"]
    0.25
    """

    # Seconds the last backup of a model with this many weights took, shared by all
    # instances in the process (each tuner trial makes a new one).
    _costs: dict[int, float] = {}

    def __init__(self, backup_dir: str | os.PathLike, max_overhead: float | None = 0.25, **kwargs):
        if max_overhead is not None and not 0 < max_overhead <= 1:
            raise ValueError(
                f"max_overhead={max_overhead!r} must be in (0, 1], or None (every epoch)."
            )
        super().__init__(os.fspath(backup_dir), **kwargs)
        self.max_overhead = max_overhead
        self._since = time.perf_counter()

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)  # restores the last backup, if there is one
        from kerasft.backbones.adapters import reseed_adapters

        # A restore zeroes LoRA adapters (Keras merges them into the saved kernels).
        reseed_adapters(self.model)
        self._since = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq != "epoch":
            super().on_epoch_end(epoch, logs)  # counts the epoch; it saves by batch
            return
        key = self.model.count_params()
        cost = self._costs.get(key)
        if (
            self.max_overhead is not None
            and cost is not None
            and time.perf_counter() - self._since < cost / self.max_overhead
        ):
            return
        start = time.perf_counter()
        super().on_epoch_end(epoch, logs)  # the backup, with the epoch it ends
        self._since = now = time.perf_counter()
        self._costs[key] = now - start

    def get_config(self):
        return {
            "backup_dir": self.backup_dir,
            "max_overhead": self.max_overhead,
            "save_freq": self.save_freq,
            "double_checkpoint": self.double_checkpoint,
            "delete_checkpoint": self.delete_checkpoint,
        }
