"""`kft.fine_tune`: the two-phase recipe (train the head, then the top blocks) through `fit`."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

import keras

from kerasft.errors import KerasftError
from kerasft.freezing import freeze, unfreeze
from kerasft.training.compile import compile as kft_compile
from kerasft.training.guard import RecompileGuard
from kerasft.training.inputs import to_dataset
from kerasft.training.phase import Phase, running_phase
from kerasft.training.resume import (
    HistoryTrim,
    PhaseCheckpoint,
    backup,
    finished_phase,
    history_from_csv,
    restore_phase,
)
from kerasft.training.tasks import infer_task


def _epochs(epochs) -> tuple[int, int]:
    if isinstance(epochs, int):
        epochs = (epochs, epochs)
    if (
        not isinstance(epochs, Sequence)
        or len(epochs) != 2
        or not all(isinstance(e, int) and e >= 0 for e in epochs)
    ):
        raise KerasftError(
            f"epochs={epochs!r}: pass an int (same for both phases) or (head_epochs, "
            "fine_tune_epochs), e.g. epochs=(3, 2)."
        )
    return tuple(epochs)


def merge_histories(model: keras.Model, histories: list[keras.callbacks.History]):
    """One `History` whose epochs and metric lists run across all phases."""
    merged = keras.callbacks.History()
    merged.set_model(model)
    merged.epoch, merged.history, merged.params = [], {}, {}
    merged.phases = []
    for history in histories:
        start = len(merged.epoch)
        merged.epoch.extend(history.epoch)
        for key, values in history.history.items():
            # A metric missing from earlier phases is padded so every list is per-epoch.
            merged.history.setdefault(key, [None] * start).extend(values)
        for values in merged.history.values():
            values.extend([None] * (len(merged.epoch) - len(values)))
        merged.params = dict(history.params or {})
        merged.phases.append((start, len(merged.epoch)))
    return merged


def run_callbacks(run_dir: str | os.PathLike | None) -> list[keras.callbacks.Callback]:
    """TensorBoard and CSV history under `run_dir`, appending across phases."""
    if run_dir is None:
        return []
    os.makedirs(run_dir, exist_ok=True)
    return [
        keras.callbacks.TensorBoard(os.path.join(run_dir, "tensorboard")),
        keras.callbacks.CSVLogger(os.path.join(run_dir, "history.csv"), append=True),
    ]


def fine_tune(
    model: keras.Model,
    train,
    val=None,
    *,
    epochs: int | tuple[int, int] = (3, 3),
    lr: float = 1e-3,
    ft_lr: float | None = None,
    unfreeze_blocks: int | str = 2,
    train_bn: bool = False,
    optimizer="adam",
    label_smoothing: float = 0.1,
    batch_size: int = 64,
    seed: int = 0,
    callbacks: Sequence[keras.callbacks.Callback] | None = None,
    run_dir: str | os.PathLike | None = None,
    backup_overhead: float | None = 0.25,
    class_weight: dict | None = None,
    verbose: int | str = "auto",
    cache: str | bool = "off",
    phase_fns: dict | None = None,
) -> keras.callbacks.History:
    """Fine-tune in two phases with `model.fit`, and return one merged `History`.

    Phase 1 trains the head with the backbone frozen. Phase 2 unfreezes the top
    `unfreeze_blocks` blocks (BatchNorm stays in inference mode; its gamma/beta train only
    with `train_bn`), recompiles with `ft_lr` (default `lr / 10`) and continues from the
    epoch phase 1 ended on, so epoch numbers, callbacks and TensorBoard curves run on across
    phases. During each `fit`, `kerasft.training.current_phase(model)` is the `Phase`.

    Args:
        model: a `kft.build` model, or any Keras model (treated as its own backbone).
        train, val: `(images, labels)` arrays or batched `tf.data.Dataset`s of them.
        epochs: `(head_epochs, fine_tune_epochs)`, or one int for both.
        callbacks: passed to both phases.
        run_dir: if given, TensorBoard logs, `history.csv` and crash-safety checkpoints go
            there, and a run killed mid-way resumes when started again with the same run_dir.
        backup_overhead: the largest share of training time the end-of-epoch backups of a
            `run_dir` may take (very short epochs are backed up only every few epochs, and a
            restart redoes those since the last backup), or None to back up every epoch.
        cache: "auto", "memory", "disk" or "off": train the frozen part of the backbone's
            work once and reuse it (see `kerasft.cache`).
        phase_fns: advanced: `{1: fn, 2: fn}` replacing a phase's `fit` call (the feature
            cache uses it); each `fn(model, train_ds, val_ds, fit_kwargs)` returns a History.

    Example:

    >>> import numpy as np, kerasft as kft
    >>> model = kft.build("mobilenet", 3, input_shape=(32, 32, 3), weights=None)
    >>> x, y = np.random.randint(0, 255, (16, 32, 32, 3)), np.arange(16) % 3
    >>> history = kft.fine_tune(model, (x, y), epochs=(1, 1), verbose=0)
    >>> history.epoch
    [0, 1]
    """
    head_epochs, ft_epochs = _epochs(epochs)
    if lr is None or lr <= 0:
        raise KerasftError(f"lr={lr!r}: the head learning rate must be positive, e.g. 1e-3.")
    ft_lr = lr / 10 if ft_lr is None else ft_lr
    task = infer_task(model)
    train_ds = to_dataset(train, model, task, batch_size=batch_size, shuffle=True, seed=seed)
    val_ds = (
        None
        if val is None
        else to_dataset(val, model, task, batch_size=batch_size, what="validation")
    )
    user_callbacks = list(callbacks or [])
    # Run-dir loggers go last so they record what user callbacks (LR schedules) add to logs.
    shared = [RecompileGuard(), *user_callbacks, *run_callbacks(run_dir)]
    if cache not in (False, None, "off"):
        from kerasft.training.cached_phases import cached_phase_fns

        cached = cached_phase_fns(
            model,
            cache=cache,
            # Without a phase 2 there is no point caching activations for it.
            unfreeze_blocks=unfreeze_blocks if ft_epochs else 0,
            # Arrays are hashed directly for the cache key; datasets are collected in one pass.
            train=train if isinstance(train, (tuple, list)) else None,
            val=val if isinstance(val, (tuple, list)) else None,
            batch_size=batch_size,
            seed=seed,
            verbose=0 if verbose == 0 else 1,
        )
        phase_fns = {**cached, **(phase_fns or {})}
    phase_fns = phase_fns or {}
    histories, walls = [], []

    def run_phase(phase: int, initial_epoch: int, last_epoch: int):
        done = finished_phase(run_dir, phase)
        if done is not None:  # a restart: this phase finished before the crash
            restore_phase(model, run_dir, phase)
            walls.append(done["wall_time_s"])
            return
        # The backup goes last: an epoch counts as done once every callback (the CSV history
        # above all) has recorded it. The phase checkpoint comes just before it: it records
        # the weights other callbacks leave at the phase's end (EarlyStopping's best) before
        # the backup is deleted. The history trim follows the backup's restore.
        resume = (
            [
                PhaseCheckpoint(model, run_dir, phase),
                backup(run_dir, phase, backup_overhead),
                HistoryTrim(os.path.join(run_dir, "history.csv"), initial_epoch),
            ]
            if run_dir
            else []
        )
        kwargs = dict(
            epochs=last_epoch,
            initial_epoch=initial_epoch,
            callbacks=[*shared, *resume],
            class_weight=class_weight,
            verbose=verbose,
            shuffle=False,  # the pipeline shuffles; fit cannot shuffle a tf.data.Dataset
        )
        start = time.perf_counter()
        fn = phase_fns.get(phase)
        # BackupAndRestore tells `fit` where to resume through `model._initial_epoch`, which
        # Keras never clears: a resumed phase 1 would otherwise start phase 2 at its epoch.
        model._initial_epoch = None
        current = Phase(
            phase,
            initial_epoch,
            last_epoch,
            total_epochs=head_epochs + ft_epochs,
            lr=lr if phase == 1 else ft_lr,
            unfreeze_blocks=0 if phase == 1 else unfreeze_blocks,
            train_bn=train_bn and phase == 2,
        )
        try:
            with running_phase(model, current):
                if fn is not None:
                    history = fn(model, train_ds, val_ds, kwargs)
                else:
                    history = model.fit(train_ds, validation_data=val_ds, **kwargs)
        finally:
            model._initial_epoch = None
        walls.append(time.perf_counter() - start)
        histories.append(history)

    freeze(model)
    kft_compile(model, lr, optimizer=optimizer, label_smoothing=label_smoothing)
    if head_epochs:
        run_phase(1, 0, head_epochs)
    if ft_epochs:
        unfreeze(model, unfreeze_blocks, train_bn=train_bn)
        kft_compile(model, ft_lr, optimizer=optimizer, label_smoothing=label_smoothing)
        run_phase(2, head_epochs, head_epochs + ft_epochs)
    merged = merge_histories(model, histories)
    if run_dir is not None and os.path.exists(os.path.join(run_dir, "history.csv")):
        # history.csv spans restarts; the History objects only see the last process.
        merged.__dict__.update(history_from_csv(os.path.join(run_dir, "history.csv")))
        spans = [(0, head_epochs), (head_epochs, head_epochs + ft_epochs)]
        merged.phases = [span for span in spans if span[1] > span[0]]
    merged.phase_wall_times = walls
    return merged
