"""`kft.tune`: hyperparameter search over the two-phase fine-tuning recipe with KerasTuner."""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kerasft import compat
from kerasft.errors import KerasftError
from kerasft.tuning.space import HEAD_PARAMS, SearchSpace, to_config
from kerasft.tuning.tuners import TUNERS


@dataclass
class TuneResult:
    """What `kft.tune` returns: the sorted results table and where everything was written.

    Attributes:
        directory: the project directory (`directory/project_name` of `kft.tune`).
        rows: one dict per trial (its values, status and objective), best first.
        best_config: the `kerasft fit` config of the best trial, or None.
        best_model_path: where the best model was saved, or None.
        objective: the metric the search optimized.
        direction: "max" or "min".
        sweep: for the "sweep" tuner, the effect of each parameter; else empty.
        trials_run: on a distributed-search worker (whose chief writes the results), the ids of
            the trials it ran; else empty.
    """

    directory: Path
    rows: list[dict]
    best_config: dict | None
    best_model_path: Path | None
    objective: str
    direction: str
    sweep: dict = field(default_factory=dict)
    trials_run: list[str] = field(default_factory=list)

    @property
    def best(self) -> dict | None:
        return self.rows[0] if self.rows and self.rows[0]["objective"] is not None else None


def _direction(objective: str, direction: str | None) -> str:
    if direction is None:
        lowered = objective.lower()
        return "min" if any(w in lowered for w in ("loss", "error", "mse", "mae")) else "max"
    if direction not in ("min", "max"):
        raise KerasftError(f"direction={direction!r} must be 'min' or 'max' (or None: inferred).")
    return direction


def _data(train, val, base: Mapping[str, Any]):
    """`(train, val, class_names, image_shape)`: the data given, else the base config's."""
    if train is not None:
        return train, val, None, None
    from kerasft.jobs.datasets import job_data

    data = job_data(dict(base), test=False)
    return data.train, data.val, data.class_names, data.image_shape


def tune(
    train=None,
    val=None,
    *,
    space: SearchSpace | Mapping[str, Any] | None = None,
    base: Mapping[str, Any] | None = None,
    tuner: str = "random",
    max_trials: int = 10,
    objective: str = "val_accuracy",
    direction: str | None = None,
    directory: str | os.PathLike = "runs/tune",
    project_name: str = "search",
    overwrite: bool = False,
    strategy="auto",
    promote: int = 0,
    cache: str | bool | None = None,
    max_epochs: int = 4,
    sweep_points: int = 3,
    num_classes: int | None = None,
    export: bool = True,
    callbacks: list | None = None,
    isolate: int | None = None,
    verbose: int | str = 0,
) -> TuneResult:
    """Search fine-tuning hyperparameters; each trial runs `kft.fine_tune`'s two phases.

    Args:
        train, val: `(images, labels)` arrays (or datasets); by default the base config's data.
        space: a `SearchSpace` or its overrides `{name: spec}` (see `SearchSpace`).
        base: `kerasft fit` config keys for everything the space does not tune.
        tuner: "random", "grid", "bayesian", "hyperband" or "sweep" (one factor at a time).
        objective, direction: any logged metric ("val_accuracy", "val_loss", ...) and
            "max"/"min" (None: "min" for losses and errors).
        directory, project_name: where trials, results and the best model go. Re-running with
            `overwrite=False` resumes: finished trials are kept, an interrupted one resumes.
        strategy: "auto", "mirrored", "one_device", None or a `tf.distribute.Strategy`.
        promote: multi-fidelity: screen with the head phase only (cheap, feature-cached),
            then run the full two-phase recipe for the `promote` best configurations.
        cache: the feature cache mode of `fine_tune`; by default the base config's `cache`.
        max_epochs: hyperband's largest budget (epochs of both phases together).
        callbacks: Keras callbacks for every trial's `fit` calls (KerasTuner copies them
            per trial).
        isolate: run trials in worker processes of this many trials each, so memory stays
            bounded over long searches (TensorFlow keeps memory of every traced model); needs
            array data, a strategy given by name, picklable callbacks. See `tuning.isolate`.
        max_trials: the number of trials to run (for "grid" and "sweep": at most).
        overwrite: start afresh instead of resuming the search in `directory`.
        sweep_points: for "sweep": the values tried per parameter.
        num_classes: the number of classes; by default from the labels of array data (needed for
            datasets).
        export: save the best model and its config in `directory`.
        verbose: Keras verbosity of each trial's `fit` calls.

    Returns:
        A `TuneResult`; `directory` holds results.csv/md, progress.png, hparams/ (TensorBoard),
        best_config.yaml (for `kerasft fit --config`) and best_model.keras.

    Example:

    >>> import numpy as np, kerasft as kft
    >>> x, y = np.random.randint(0, 255, (32, 32, 32, 3)), np.arange(32) % 2
    >>> result = kft.tune((x, y), (x, y), tuner="random", max_trials=1, overwrite=True,
    ...     space={"backbone": "mobilenet", "image_size": 32, "head_epochs": 1, "ft_epochs": 0},
    ...     base={"weights": None}, directory="/tmp/kft-tune-doc")  # doctest: +SKIP
    """
    import keras_tuner as kt

    from kerasft import config as config_module
    from kerasft.jobs.recipe import fine_tune_kwargs
    from kerasft.tuning import results as results_module
    from kerasft.tuning.hypermodel import FineTuneHyperModel
    from kerasft.tuning.strategy import resolve_strategy
    from kerasft.tuning.tuners import make_tuner

    if tuner not in TUNERS:
        from kerasft.errors import unknown_name

        raise unknown_name("tuner", tuner, TUNERS)
    if not isinstance(max_trials, int) or max_trials < 1:
        raise KerasftError(f"max_trials={max_trials!r} must be a positive integer.")
    if not isinstance(promote, int) or promote < 0:
        raise KerasftError(f"promote={promote!r} must be an integer >= 0.")
    if isolate is not None and (not isinstance(isolate, int) or isolate < 1):
        raise KerasftError(f"isolate={isolate!r} must be a positive integer or None.")
    if isolate and not (strategy is None or isinstance(strategy, str)):
        raise KerasftError(
            "isolate= runs trials in other processes: give strategy by name "
            "('auto', 'mirrored', 'one_device') or None, not a Strategy instance."
        )
    if promote and compat.has_chief_oracle():
        # Chief and workers alike: the promoted second search would need its own oracle.
        role = "chief" if compat.is_chief_oracle() else "worker"
        raise KerasftError(
            f"promote={promote} (multi-fidelity) is not supported in chief/worker mode yet "
            f"(this process is the {role}: KERASTUNER_ORACLE_IP is set, e.g. by --chief or "
            "--worker). Drop promote, or search without --chief/--worker."
        )
    direction = _direction(objective, direction)
    base_cfg = config_module.resolve(base)
    if not isinstance(space, SearchSpace):
        space = SearchSpace(space)
    from kerasft.backbones.modalities import backbone_modality

    modality = backbone_modality(base_cfg["backbone"])
    if modality == "text":
        space.for_text()
    elif modality == "audio":
        space.for_audio()
    # Validate the whole space and the recipe (ft_schedule, callbacks) on the base config
    # before any data loads or trial runs.
    for param in space.tuned():
        param.grid(2)
    fine_tune_kwargs(to_config(space.defaults(), base_cfg))

    train, val, class_names, image_shape = _data(train, val, base_cfg)
    if val is None and objective.startswith("val_"):
        raise KerasftError(
            f"objective={objective!r} needs validation data: pass val=(x, y) or use "
            f"objective={objective[4:]!r}."
        )
    if isolate:
        from kerasft.tuning.isolate import check_data

        check_data(train, val)
    x = train[0] if isinstance(train, (tuple, list)) else None
    if num_classes is None and class_names is not None:
        num_classes = len(class_names)
    if num_classes is None:
        if x is None:
            raise KerasftError("Pass num_classes= when train is a dataset.")
        import numpy as np

        num_classes = int(np.max(train[1])) + 1
    input_shape = tuple(x.shape[1:]) if x is not None else image_shape or (None, None, 3)

    directory = Path(directory)
    project_dir = directory / project_name
    dist = resolve_strategy(strategy)
    kt_objective = kt.Objective(objective, direction)

    def run_search(name, hypermodel, project, trials, configurations=None):
        tuner_kwargs = dict(
            objective=kt_objective,
            max_trials=trials,
            directory=os.fspath(directory),
            project_name=project,
            seed=base_cfg["seed"],
            configurations=configurations,
            max_epochs=max_epochs,
            sweep_points=sweep_points,
        )
        search = make_tuner(
            name, hypermodel, overwrite=overwrite, distribution_strategy=dist, **tuner_kwargs
        )
        if isolate and not compat.has_chief_oracle():
            from kerasft.tuning.isolate import run_isolated

            portable = copy.copy(hypermodel)
            portable.strategy = None  # workers resolve the strategy by name themselves
            spec = dict(
                hypermodel=portable,
                strategy=strategy,
                tuner=name,
                tuner_kwargs=tuner_kwargs,
                callbacks=list(callbacks or []),
            )
            run_isolated(search, spec, train, val, isolate, verbose=verbose)
            return search
        search.search(train, val, verbose=verbose, callbacks=list(callbacks or []))
        return search

    worker = compat.has_chief_oracle() and not compat.is_chief_oracle()
    screening = promote > 0
    hypermodel = FineTuneHyperModel(
        space,
        base_cfg,
        num_classes=num_classes,
        input_shape=input_shape,
        head_only=screening,
        cache=cache,
        strategy=dist,
        verbose=verbose,
    )
    search = run_search(tuner, hypermodel, project_name, max_trials)
    if worker:  # the chief holds the oracle and writes the results
        ran = list(getattr(search, "trials_run", []))
        return TuneResult(project_dir, [], None, None, objective, direction, trials_run=ran)
    if screening:
        screened = results_module.sort_rows(
            results_module.trial_rows(search.oracle, objective), direction
        )
        finalists = [
            {k: v for k, v in row.items() if k not in ("trial", "status", "objective", "reason")}
            for row in screened[:promote]
            if row["objective"] is not None
        ]
        results_module.write_table(screened, project_dir / "screening", direction)
        full = FineTuneHyperModel(
            space,
            base_cfg,
            num_classes=num_classes,
            input_shape=input_shape,
            cache=cache,
            strategy=dist,
            verbose=verbose,
        )
        search = run_search("list", full, f"{project_name}_promoted", len(finalists), finalists)
        project_dir = directory / f"{project_name}_promoted"
        hypermodel = full
    return finish(search, hypermodel, project_dir, objective, direction, export, tuner)


def finish(search, hypermodel, project_dir, objective, direction, export=True, tuner_name=""):
    """Write the results of a finished search; export the best model and config."""
    from kerasft import config as config_module
    from kerasft.tuning import results as results_module

    project_dir = Path(project_dir)
    rows = results_module.trial_rows(search.oracle, objective)
    if tuner_name == "sweep":
        sweep = results_module.sweep_report(rows, project_dir, objective)
    else:
        sweep = {}
    results_module.plot_progress(rows, project_dir / "progress.png", direction, objective)
    results_module.write_hparams(rows, project_dir / "hparams", objective)
    rows = results_module.write_table(rows, project_dir, direction)
    best_config = best_path = None
    if rows and rows[0]["objective"] is not None:
        best_trial = search.oracle.trials[rows[0]["trial"]]
        best_config = hypermodel.config(best_trial.hyperparameters.copy())
        best_config["run_dir"] = None
        config_module.validate(best_config)
        config_module.dump(best_config, project_dir / "best_config.yaml")
        if export:
            from kerasft.training.compile import compile as kft_compile

            model = search.load_model(best_trial)
            # Compiled as its last phase left it, so it can be evaluated or trained on at once.
            last_lr = best_config["ft_lr"] if best_config["epochs"][1] else best_config["lr"]
            kft_compile(
                model,
                last_lr or best_config["lr"] / 10,
                optimizer=best_config["optimizer"],
                label_smoothing=best_config["label_smoothing"],
            )
            # Saved with its (zero) slots for the trainable weights: load_model builds the
            # optimizer before restoring it, and an unbuilt one would not match.
            model.optimizer.build(model.trainable_variables)
            best_path = project_dir / "best_model.keras"
            model.save(best_path)
    return TuneResult(project_dir, rows, best_config, best_path, objective, direction, sweep)


__all__ = ["HEAD_PARAMS", "TuneResult", "tune", "finish"]
