"""`FineTuneHyperModel`: a `keras_tuner.HyperModel` running kerasft's two-phase recipe."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import keras
import keras_tuner as kt

from kerasft.tuning.space import SearchSpace, to_config


class PhaseCheckpoint(keras.callbacks.Callback):
    """Makes a trial resumable: phase 1's result is saved once it ends, and phase 2 is backed
    up every epoch (Keras `BackupAndRestore`), so a killed trial restarts where it stopped.

    Use it as a callback (phase-2 backups) and wrap phase 1 with `phase1_fn`.
    """

    def __init__(self, directory: str):
        super().__init__()
        self.directory = directory
        self.backup = keras.callbacks.BackupAndRestore(os.path.join(directory, "phase2_backup"))

    @property
    def phase1_weights(self) -> str:
        return os.path.join(self.directory, "phase1.weights.h5")

    @property
    def phase1_history(self) -> str:
        return os.path.join(self.directory, "phase1_history.json")

    def phase1_done(self) -> bool:
        return os.path.exists(self.phase1_history) and os.path.exists(self.phase1_weights)

    def phase1_fn(self, inner=None):
        """A phase function (see `fine_tune(phase_fns=...)`): reload phase 1's saved result,
        or run phase 1 (`inner`, else `model.fit`) and save its result."""

        def run(model, train_ds, val_ds, fit_kwargs):
            if self.phase1_done():
                model.load_weights(self.phase1_weights)
                with open(self.phase1_history) as f:
                    saved = json.load(f)
                history = keras.callbacks.History()
                history.set_model(model)
                history.epoch, history.history = saved["epoch"], saved["history"]
                history.params = {}
                return history
            if inner is not None:
                history = inner(model, train_ds, val_ds, fit_kwargs)
            else:
                history = model.fit(train_ds, validation_data=val_ds, **fit_kwargs)
            os.makedirs(self.directory, exist_ok=True)
            model.save_weights(self.phase1_weights)
            payload = {
                "epoch": [int(e) for e in history.epoch],
                "history": {
                    k: [None if v is None else float(v) for v in vs]
                    for k, vs in history.history.items()
                },
            }
            with open(self.phase1_history + ".tmp", "w") as f:
                json.dump(payload, f)
            os.replace(self.phase1_history + ".tmp", self.phase1_history)
            return history

        return run

    def set_model(self, model):
        super().set_model(model)
        self.backup.set_model(model)

    def _phase2(self) -> bool:
        return getattr(self.model, "_kerasft_phase", None) == 2

    def on_train_begin(self, logs=None):
        if self._phase2():
            self.backup.on_train_begin(logs)

    def on_epoch_end(self, epoch, logs=None):
        if self._phase2():
            self.backup.on_epoch_end(epoch, logs)

    def on_train_end(self, logs=None):
        if self._phase2():
            self.backup.on_train_end(logs)


class FineTuneHyperModel(kt.HyperModel):
    """Builds a `kft.build` model from a trial's hyperparameters and fits it with
    `kft.fine_tune` (head phase, then the top blocks), so each trial runs the full recipe.

    Args:
        space: a `SearchSpace` (default: the full default space).
        base: the `kerasft fit` config the space's untuned parameters come from.
        num_classes, input_shape: of the data.
        weights: backbone weights ("imagenet" or None); by default the base config's.
        head_only: multi-fidelity screening: run only the head phase (no unfreezing).
        cache: feature cache mode passed to `fine_tune`.
        strategy: a `tf.distribute.Strategy` the trial trains under, or None.

    Example:

    >>> import keras_tuner as kt
    >>> from kerasft.tuning import FineTuneHyperModel, SearchSpace
    >>> space = SearchSpace({"backbone": "mobilenet", "image_size": 32}, only=["dropout"])
    >>> hm = FineTuneHyperModel(space, num_classes=3, input_shape=(32, 32, 3), weights=None)
    >>> hm.build(kt.HyperParameters()).output_shape
    (None, 3)
    """

    def __init__(
        self,
        space: SearchSpace | None = None,
        base: Mapping[str, Any] | None = None,
        *,
        num_classes: int = 10,
        input_shape: Sequence[int] = (28, 28, 1),
        weights: str | None | bool = False,
        head_only: bool = False,
        cache: str | bool = "auto",
        strategy=None,
        verbose: int | str = 0,
        name: str | None = None,
    ):
        super().__init__(name=name, tunable=True)
        self.space = space or SearchSpace()
        self.base = dict(base or {})
        self.num_classes = int(num_classes)
        self.input_shape = tuple(input_shape)
        self.weights = self.base.get("weights", "imagenet") if weights is False else weights
        self.head_only = head_only
        self.cache = cache
        self.strategy = strategy
        self.verbose = verbose

    def config(self, hp) -> dict[str, Any]:
        """The `kerasft fit` config of the trial whose hyperparameters are `hp`."""
        values = self.space.define(hp, self.base)
        cfg = to_config(values, self.base)
        cfg["weights"] = self.weights
        if self.head_only:
            cfg["epochs"] = [cfg["epochs"][0], 0]
        return cfg

    def build(self, hp) -> keras.Model:
        from kerasft.builder import build

        cfg = self.config(hp)
        return build(
            cfg["backbone"],
            self.num_classes,
            input_shape=self.input_shape,
            image_size=cfg["image_size"],
            weights=cfg["weights"],
            augmentation=cfg["augmentation"],
            dropout=cfg["dropout"],
            hidden_units=tuple(cfg["hidden_units"]),
            l2=cfg["l2"],
        )

    def fit(self, hp, model, train, val=None, *, callbacks=None, trial_dir=None, **kwargs):
        from kerasft import callbacks as kft_callbacks
        from kerasft.training.fine_tune import fine_tune

        cfg = self.config(hp)
        epochs = list(cfg["epochs"])
        if "epochs" in kwargs:  # Hyperband's budget: the total epochs of both phases
            budget = int(kwargs.pop("epochs"))
            total = max(sum(epochs), 1)
            head = max(1, round(budget * epochs[0] / total)) if epochs[0] else 0
            epochs = [min(head, budget), max(budget - head, 0) if epochs[1] else 0]
        kwargs.pop("initial_epoch", None)
        all_callbacks = [*(callbacks or []), *kft_callbacks.from_config(cfg["callbacks"])]
        cache = "off" if self.strategy is not None else self.cache
        phase_fns = None
        if trial_dir is not None:
            checkpoint = PhaseCheckpoint(os.path.join(trial_dir, "resume"))
            all_callbacks.append(checkpoint)
            phase_fns = {1: checkpoint.phase1_fn(_cached_phase1(model, cache, cfg))}
        run = dict(
            epochs=tuple(epochs),
            lr=cfg["lr"],
            ft_lr=cfg["ft_lr"],
            unfreeze_blocks=cfg["unfreeze_blocks"],
            train_bn=cfg["train_bn"],
            optimizer=cfg["optimizer"],
            label_smoothing=cfg["label_smoothing"],
            batch_size=cfg["batch_size"],
            seed=cfg["seed"],
            callbacks=all_callbacks,
            verbose=kwargs.pop("verbose", self.verbose),
            cache=cache,
            phase_fns=phase_fns,
        )
        if self.strategy is not None:
            with self.strategy.scope():
                return fine_tune(model, train, val, **run)
        return _fine_tune_with_cache_fallback(fine_tune, model, train, val, run)


def _cached_phase1(model, cache, cfg):
    """The feature cache's phase-1 function, when the cache is on and installed."""
    if cache in (False, None, "off"):
        return None
    try:
        from kerasft.training.cached_phases import cached_phase_fns
    except ModuleNotFoundError:
        return None
    fns = cached_phase_fns(
        model, cache=cache, unfreeze_blocks=cfg["unfreeze_blocks"], seed=cfg["seed"]
    )
    return fns.get(1)


def _fine_tune_with_cache_fallback(fine_tune, model, train, val, run):
    try:
        return fine_tune(model, train, val, **run)
    except ModuleNotFoundError as err:  # the feature cache is not installed yet
        if "cached_phases" not in str(err) and "kerasft.cache" not in str(err):
            raise
        run["cache"] = "off"
        return fine_tune(model, train, val, **run)
