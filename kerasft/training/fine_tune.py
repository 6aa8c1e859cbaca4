"""`kft.fine_tune`: the two-phase recipe (train the head, then the top blocks) through `fit`.

The engine in one paragraph: `fine_tune` checks and converts the data once
(`training/inputs.py`), builds a plan of `Phase` objects (`training/phase.py`), and for
each phase freezes/unfreezes and compiles the model (`freezing.py`, `training/compile.py`),
skips it when a restarted run had finished it (`training/resume.py`), and hands it to one
runner: `FitRunner` (`training/runner.py`, the model's own `fit`) or `CachedRunner`
(`cache/runner.py`, the trainable part on features computed once). While a phase runs,
`current_phase(model)` tells callbacks which one it is.
"""

from __future__ import annotations

import numbers
import os
import time
from collections.abc import Sequence

import keras

from kerasft import compat
from kerasft.errors import KerasftError
from kerasft.freezing import freeze, unfreeze
from kerasft.training.compile import compile as kft_compile
from kerasft.training.guard import RecompileGuard
from kerasft.training.inputs import prepare
from kerasft.training.phase import Phase, running_phase
from kerasft.training.resume import (
    HistoryTrim,
    PhaseCheckpoint,
    backup,
    finished_phase,
    history_from_csv,
    restore_phase,
)
from kerasft.training.runner import FitRunner
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


def plan_phases(
    head_epochs: int,
    ft_epochs: int,
    *,
    lr: float,
    ft_lr: float,
    unfreeze_blocks: int | str,
    train_bn: bool,
    runner: str = "fit",
) -> list[Phase]:
    """The phases of the two-phase recipe: the head, then the top blocks (empty ones left out).

    Args:
        head_epochs, ft_epochs: epochs of phase 1 (head) and phase 2 (top blocks).
        lr, ft_lr: their learning rates.
        unfreeze_blocks: the blocks phase 2 trains (an int or "all").
        train_bn: whether phase 2 trains BatchNorm gamma/beta.
        runner: the name of the runner the phases go to ("fit" or "cached").

    Example:

    >>> from kerasft.training.fine_tune import plan_phases
    >>> [(p.number, p.first_epoch, p.last_epoch) for p in plan_phases(
    ...     3, 2, lr=1e-3, ft_lr=1e-4, unfreeze_blocks=2, train_bn=False)]
    [(1, 0, 3), (2, 3, 5)]
    """
    total = head_epochs + ft_epochs
    phases = [
        Phase(1, 0, head_epochs, total, lr, runner=runner),
        Phase(2, head_epochs, total, total, ft_lr, unfreeze_blocks, train_bn, runner),
    ]
    return [phase for phase in phases if phase.epochs]


def sets_learning_rate(callback: keras.callbacks.Callback) -> bool:
    """Whether `callback` drives the learning rate itself (a schedule, a plateau, a sweep)."""
    from kerasft.callbacks.lr_finder import LRFinder
    from kerasft.callbacks.lr_schedule_callback import LRScheduleCallback

    drivers = (
        LRScheduleCallback,
        LRFinder,
        keras.callbacks.LearningRateScheduler,
        keras.callbacks.ReduceLROnPlateau,
    )
    return isinstance(callback, drivers)


def schedule_callbacks(
    ft_schedule: str | None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    warmup: float = 0.0,
) -> list[keras.callbacks.Callback]:
    """The callbacks of `ft_schedule`: a cosine over phase 2 (after a linear warm-up over
    `warmup` of its steps), or none (a constant `ft_lr`).

    None either when one of `callbacks` drives the learning rate itself: two schedules
    setting the rate at every batch would fight, and the user's wins.

    Raises:
        KerasftError: an unknown `ft_schedule` or a `warmup` outside [0, 1), naming it and
            the fix.
    """
    if ft_schedule not in ("cosine", None):
        raise KerasftError(
            f"ft_schedule={ft_schedule!r}: use 'cosine' or null (constant ft_lr); other "
            "schedules go in `callbacks:` (e.g. {name: one_cycle, max_lr: 0.001})."
        )
    if isinstance(warmup, bool) or not isinstance(warmup, numbers.Real) or not 0 <= warmup < 1:
        raise KerasftError(
            f"ft_warmup={warmup!r}: use a share of phase 2's steps from 0 (no warm-up) to "
            "below 1, e.g. 0.1."
        )
    if ft_schedule is None or any(sets_learning_rate(c) for c in callbacks):
        return []
    from kerasft.callbacks.phase_cosine import PhaseCosine

    return [PhaseCosine(phase=2, warmup=warmup)]


def _runner(cache) -> FitRunner:
    if isinstance(cache, FitRunner):
        return cache
    if cache in (False, None, "off"):
        return FitRunner()
    from kerasft.cache.runner import CachedRunner

    return CachedRunner("auto" if cache is True else cache)


def fine_tune(
    model: keras.Model,
    train,
    val=None,
    *,
    epochs: int | tuple[int, int] = (5, 7),
    lr: float = 1e-3,
    ft_lr: float | None = None,
    ft_schedule: str | None = "cosine",
    ft_warmup: float = 0.1,
    unfreeze_blocks: int | str = 6,
    train_bn: bool = True,
    optimizer="adam",
    label_smoothing: float = 0.1,
    batch_size: int = 128,
    seed: int = 0,
    callbacks: Sequence[keras.callbacks.Callback] | None = None,
    run_dir: str | os.PathLike | None = None,
    backup_overhead: float | None = 0.25,
    class_weight: dict | None = None,
    verbose: int | str = "auto",
    cache="auto",
    lora_rank: int | None = None,
) -> keras.callbacks.History:
    """Fine-tune in two phases with `model.fit`, and return one merged `History`.

    Phase 1 trains the head with the backbone frozen. Phase 2 unfreezes the top
    `unfreeze_blocks` blocks (BatchNorm stays in inference mode; its gamma/beta train only
    with `train_bn`), recompiles with `ft_lr` (default `lr / 2`), decays it along a cosine
    and continues from the epoch phase 1 ended on, so epoch numbers, callbacks and
    TensorBoard curves run on across phases. During each `fit`,
    `kerasft.training.current_phase(model)` is the `Phase`.

    The defaults are `kerasft fit`'s measured recipe (`kerasft/config.py`): the feature cache
    on, the top 6 blocks with BatchNorm gamma/beta in phase 2, a cosine over phase 2, batches
    of 128, a seeded shuffle.

    Args:
        model: a `kft.build` model, or any Keras model (treated as its own backbone).
        train: `(images, labels)` arrays, or a batched `tf.data.Dataset` of them.
        val: validation data in the same form, or None.
        epochs: `(head_epochs, fine_tune_epochs)`, or one int for both.
        lr: the head's learning rate (phase 1).
        ft_lr: phase 2's learning rate (default `lr / 2`).
        ft_schedule: "cosine" (phase 2's rate decays to 0 along a half cosine, batch by
            batch: `kft.callbacks.PhaseCosine`) or None (constant `ft_lr`). A callback of
            `callbacks` that drives the rate itself (a kerasft LR schedule, Keras's
            `LearningRateScheduler` or `ReduceLROnPlateau`, `LRFinder`) replaces it.
        ft_warmup: with the cosine, the share of phase 2's steps (0 to 1) over which the
            rate first rises linearly from 0 to `ft_lr`: the newly unfrozen blocks meet
            Adam's first, largest updates at a small rate.
        unfreeze_blocks: the backbone blocks phase 2 trains, counted from the top (an int,
            or "all").
        train_bn: also train BatchNorm gamma/beta in phase 2 (the statistics never train).
        optimizer: a Keras optimizer name or instance (`kft.compile`), new for each phase.
        label_smoothing: for the default cross-entropy loss of a multiclass model.
        batch_size: the batch size of array data.
        seed: the seed of the shuffle (and of the cached runner's draws).
        callbacks: passed to both phases.
        run_dir: if given, TensorBoard logs, `history.csv` and crash-safety checkpoints go
            there, and a run killed mid-way resumes when started again with the same run_dir.
        backup_overhead: the largest share of training time the end-of-epoch backups of a
            `run_dir` may take (very short epochs are backed up only every few epochs, and a
            restart redoes those since the last backup), or None to back up every epoch.
        class_weight: passed to `fit` (`{class index: weight}`).
        verbose: passed to `fit` (0 also silences the cache's messages).
        cache: how phases run: "auto", "memory" or "disk" train the frozen part of the
            backbone's work once and reuse it (`kerasft.cache.CachedRunner`), "off" runs the
            plain `fit` (`kerasft.training.runner.FitRunner`); or a runner instance, e.g.
            `CachedRunner("disk", views=3)` for the cache's options.
        lora_rank: with a positive rank, LoRA adapters go on the backbone first (unless
            it has them already, `kft.enable_lora`), and phase 2 trains only the adapters of
            the top `unfreeze_blocks` blocks, and the head. None or 0: no LoRA.

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
    ft_lr = lr / 2 if ft_lr is None else ft_lr
    schedule = schedule_callbacks(ft_schedule, callbacks or [], warmup=ft_warmup)
    runner = _runner(cache)
    if lora_rank:
        from kerasft.lora import enable_lora

        # Before phase 1, so its cache of the phase-2 inputs is computed with the adapters
        # in place (a fingerprint taken without them would not match in phase 2).
        enable_lora(model, lora_rank)
    data = prepare(train, val, model, infer_task(model), batch_size=batch_size, seed=seed)
    plan = plan_phases(
        head_epochs,
        ft_epochs,
        lr=lr,
        ft_lr=ft_lr,
        unfreeze_blocks=unfreeze_blocks,
        train_bn=train_bn,
        runner=runner.name,
    )
    # Run-dir loggers go last so they record what user callbacks (LR schedules) add to logs.
    shared = [RecompileGuard(), *schedule, *(callbacks or []), *run_callbacks(run_dir)]
    runner.start(model, plan, data, verbose)
    histories, walls = [], []
    for phase in plan:
        freeze(model)
        if phase.unfreeze_blocks:
            unfreeze(model, phase.unfreeze_blocks, train_bn=phase.train_bn)
        kft_compile(model, phase.lr, optimizer=optimizer, label_smoothing=label_smoothing)
        done = finished_phase(run_dir, phase.number)
        if done is not None:  # a restart: this phase finished before the crash
            restore_phase(model, run_dir, phase.number)
            walls.append(done["wall_time_s"])
            continue
        # The backup goes last: an epoch counts as done once every callback (the CSV history
        # above all) has recorded it. The phase checkpoint comes just before it: it records
        # the weights other callbacks leave at the phase's end (EarlyStopping's best) before
        # the backup is deleted. The history trim follows the backup's restore.
        resume = (
            [
                PhaseCheckpoint(model, run_dir, phase.number),
                backup(run_dir, phase.number, backup_overhead),
                HistoryTrim(os.path.join(run_dir, "history.csv"), phase.first_epoch),
            ]
            if run_dir
            else []
        )
        fit_kwargs = dict(
            epochs=phase.last_epoch,
            initial_epoch=phase.first_epoch,
            callbacks=[*shared, *resume],
            class_weight=class_weight,
            verbose=verbose,
            shuffle=False,  # the pipeline shuffles; fit cannot shuffle a tf.data.Dataset
        )
        start = time.perf_counter()
        # A resumed phase 1 would otherwise start phase 2 at its epoch (Keras never clears it).
        compat.set_resume_epoch(model, None)
        try:
            with running_phase(model, phase):
                histories.append(runner.run(model, phase, data, fit_kwargs))
        finally:
            compat.set_resume_epoch(model, None)
        walls.append(time.perf_counter() - start)
    merged = merge_histories(model, histories)
    if run_dir is not None and os.path.exists(os.path.join(run_dir, "history.csv")):
        # history.csv spans restarts; the History objects only see the last process.
        merged.__dict__.update(history_from_csv(os.path.join(run_dir, "history.csv")))
        merged.phases = [(phase.first_epoch, phase.last_epoch) for phase in plan]
    merged.phase_wall_times = walls
    merged.runner_report = dict(runner.report)
    return merged
