"""A `fine_tune` run that dies mid-phase resumes from its last backed-up epoch, cached or not."""

from __future__ import annotations

import keras
import pytest
from test_cache_equivalence import learnable_data, train


class Crash(Exception):
    pass


class CrashAt(keras.callbacks.Callback):
    """Stands in for a SIGKILL: the process dies at the end of epoch `epoch`, before the
    callbacks after it (the CSV history, the backup) see that epoch."""

    def __init__(self, epoch: int):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise Crash


@pytest.fixture
def every_epoch_backed_up(monkeypatch):
    # kerasft's own backup skips very short epochs; these tiny ones would all be skipped.
    monkeypatch.setattr(
        "kerasft.training.resume.EpochBackup",
        lambda path, **kw: keras.callbacks.BackupAndRestore(str(path), **kw),
    )


def run(run_dir, cached: bool, callbacks):
    data = learnable_data(96), learnable_data(32, seed=1)
    return train(data, cached, epochs=(3, 3), run_dir=run_dir, callbacks=callbacks)


@pytest.mark.parametrize("cached", [False, True])
@pytest.mark.parametrize("crash_epoch", [1, 4])  # in phase 1, in phase 2
def test_killed_run_resumes_from_its_last_backed_up_epoch(
    tmp_path, every_epoch_backed_up, cached, crash_epoch
):
    with pytest.raises(Crash):
        run(tmp_path, cached, [CrashAt(crash_epoch)])
    started = []
    spy = keras.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: started.append(epoch))
    _, history = run(tmp_path, cached, [spy])
    # The crashed epoch is re-run; nothing before it is, nothing after it is skipped.
    assert started == list(range(crash_epoch, 6))
    assert history.epoch == list(range(6))
    assert all(v is not None for v in history.history["val_loss"])


def test_resumed_phase_goes_on_with_its_learning_rate_schedule(tmp_path, every_epoch_backed_up):
    from kerasft.callbacks import PhaseCosine

    def lrs(run_dir, crash=None):
        callbacks = [PhaseCosine(phase=2)]
        if crash is not None:
            callbacks.append(CrashAt(crash))
        _, history = run(run_dir, True, callbacks)
        return history.history["learning_rate"]

    whole = lrs(tmp_path / "whole")
    with pytest.raises(Crash):
        lrs(tmp_path / "killed", crash=4)
    resumed = lrs(tmp_path / "killed")
    assert resumed == pytest.approx(whole, rel=1e-6)
    assert whole[3] > whole[4] > whole[5]  # the cosine of phase 2
