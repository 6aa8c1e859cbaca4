"""`FineTuneHyperModel`: a `keras_tuner.HyperModel` running kerasft's two-phase recipe."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import keras
import keras_tuner as kt

from kerasft import compat
from kerasft.jobs.model import build_kwargs
from kerasft.tuning.space import SearchSpace, to_config


class FineTuneHyperModel(kt.HyperModel):
    """Builds a `kft.build` model from a trial's hyperparameters and fits it with
    `kft.fine_tune` (head phase, then the top blocks), so each trial runs the full recipe.

    Args:
        space: a `SearchSpace` (default: the full default space).
        base: the `kerasft fit` config the space's untuned parameters come from.
        num_classes, input_shape: of the data.
        weights: backbone weights ("imagenet" or None); by default the base config's.
        head_only: multi-fidelity screening: run only the head phase (no unfreezing).
        cache: feature cache mode of `fine_tune`; by default the base config's `cache`
            ("off" under a strategy either way).
        strategy: a `tf.distribute.Strategy` the trial trains under, or None.
        verbose: Keras verbosity of each trial's `fit` calls.
        name: the hypermodel's name (KerasTuner's `HyperModel` name).

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
        cache: str | bool | None = None,
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
        if self.cache is not None:
            cfg["cache"] = self.cache
        if self.head_only:
            cfg["epochs"] = [cfg["epochs"][0], 0]
        return cfg

    def build(self, hp) -> keras.Model:
        from kerasft.builder import build
        from kerasft.tuning.backbones import is_import_path, resolve

        cfg = self.config(hp)
        backbone = cfg["backbone"]
        if is_import_path(backbone):
            backbone = resolve(backbone)(image_size=cfg["image_size"] or self.input_shape[0])
        return build(
            backbone,
            self.num_classes,
            input_shape=self.input_shape,
            **build_kwargs(cfg),
        )

    def fit(self, hp, model, train, val=None, *, callbacks=None, trial_dir=None, **kwargs):
        from kerasft.jobs.recipe import fine_tune_kwargs
        from kerasft.training.fine_tune import fine_tune

        # The same recipe as `kerasft fit` with this config (ft_schedule, cache, callbacks);
        # only the budget, the run directory and the distribution are the tuner's own.
        run = fine_tune_kwargs(self.config(hp))
        if "epochs" in kwargs:  # Hyperband's budget: the total epochs of both phases
            budget = int(kwargs.pop("epochs"))
            epochs = run["epochs"]
            total = max(sum(epochs), 1)
            head = max(1, round(budget * epochs[0] / total)) if epochs[0] else 0
            run["epochs"] = (min(head, budget), max(budget - head, 0) if epochs[1] else 0)
        kwargs.pop("initial_epoch", None)
        # KerasTuner's callbacks (best-epoch checkpoint, the user's) after the recipe's, so
        # they see the learning rate the schedules log.
        run["callbacks"] = [*run["callbacks"], *(callbacks or [])]
        if self.strategy is not None:
            run["cache"] = "off"
        run_dir = None
        if trial_dir is not None:
            # fine_tune's own crash safety: finished phases are skipped on a restart, the
            # current one resumes from its last epoch, and history.csv keeps every epoch.
            run_dir = os.path.join(trial_dir, "run")
            _resume_best_epoch(run["callbacks"], run_dir)
        run.update(verbose=kwargs.pop("verbose", self.verbose), run_dir=run_dir)
        if self.strategy is not None:
            with self.strategy.scope():
                return fine_tune(model, train, val, **run)
        return fine_tune(model, train, val, **run)


def _resume_best_epoch(callbacks, run_dir) -> None:
    """On a restarted trial, KerasTuner's best-epoch checkpoint keeps the best epoch from
    before the restart unless a later epoch beats it (it would otherwise start from scratch
    and could overwrite a better checkpoint, leaving the exported model inconsistent with the
    trial's score)."""
    from kerasft.training.resume import history_from_csv

    path = os.path.join(run_dir, "history.csv")
    if not os.path.exists(path):
        return
    history = history_from_csv(path)["history"]
    for callback in compat.best_epoch_savers(callbacks):
        if not os.path.exists(callback.filepath):
            continue
        values = [v for v in history.get(callback.objective.name, []) if v is not None]
        if values:
            best = max(values) if callback.objective.direction == "max" else min(values)
            callback.best_value = best
