"""The `kerasft fit` job: build, fine-tune, score on the test set, write a run directory."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np

from kerasft import config as config_module
from kerasft.builder import build
from kerasft.errors import KerasftError
from kerasft.jobs.datasets import job_arrays
from kerasft.jobs.model import build_kwargs
from kerasft.jobs.recipe import fine_tune_kwargs
from kerasft.jobs.run_dir import new_run_dir, unfinished_run, write_json
from kerasft.training.fine_tune import fine_tune
from kerasft.training.warm_start import warm_start


def _log(message: str) -> None:
    print(f"[kerasft fit] {message}", flush=True)


def _verbosity(verbose):
    # Keras's "auto" draws a progress bar even into a log file; one line per epoch reads better.
    if verbose == "auto":
        return 1 if sys.stdout.isatty() else 2
    return verbose


def _build(cfg: dict[str, Any], train, class_names: list[str]) -> keras.Model:
    model = build(
        cfg["backbone"],
        len(class_names),
        input_shape=train[0].shape[1:],
        **build_kwargs(cfg),
    )
    _log(
        f"model: {cfg['backbone']} ({cfg['weights'] or 'random init'}), "
        f"{train[0].shape[1]} px input, {cfg['image_size']} px backbone; "
        f"phases {cfg['epochs'][0]} + {cfg['epochs'][1]} epochs"
    )
    return model


def run(config: dict[str, Any] | None = None) -> Path:
    """Run the fit job described by `config` (merged over the defaults); return its run dir.

    The run directory holds `config.yaml` (the resolved config), `tensorboard/`,
    `history.csv`, `model.keras` and `metrics.json` (test accuracy, per-phase wall times).
    """
    cfg = config_module.resolve(config)
    recipe = fine_tune_kwargs(cfg)  # a bad ft_schedule or callback fails before any work
    started = time.perf_counter()
    # The same command after a crash (or Ctrl-C) picks up the killed run where it stopped.
    run_dir = Path(cfg["run_dir"]) if cfg["run_dir"] else unfinished_run(cfg) or new_run_dir()
    if (run_dir / "metrics.json").exists():
        raise KerasftError(
            f"run_dir {os.fspath(run_dir)!r} already holds a finished run (metrics.json). "
            "Pass another --run-dir, or leave it out for a new runs/fit-<time> folder."
        )
    resuming = (run_dir / "config.yaml").exists()
    run_dir.mkdir(parents=True, exist_ok=True)
    cfg["run_dir"] = os.fspath(run_dir)
    config_module.dump(cfg, run_dir / "config.yaml")
    _log(f"{'resuming unfinished run in' if resuming else 'run directory:'} {run_dir}")
    keras.utils.set_random_seed(cfg["seed"])

    t0 = time.perf_counter()
    train, val, test, class_names = job_arrays(
        cfg["data"], cfg["train_samples"], cfg["val_samples"], cfg["seed"]
    )
    load_time = time.perf_counter() - t0
    _log(
        f"data {cfg['data']!r}: {len(train[0])} train, {len(val[0])} validation, "
        f"{len(test[0])} test images of shape {train[0].shape[1:]}, {len(class_names)} classes"
    )
    if cfg["from_run"]:
        model = warm_start(cfg["from_run"], class_names, reinit_head=cfg["reinit_head"])
        _log(
            f"warm start from {cfg['from_run']}"
            + (" with a new head" if cfg["reinit_head"] else "")
        )
    else:
        model = _build(cfg, train, class_names)
    history = fine_tune(
        model,
        train,
        val if len(val[0]) else None,
        **recipe,
        run_dir=run_dir,
        verbose=_verbosity(cfg["verbose"]),
    )
    model.save(run_dir / "model.keras")

    t0 = time.perf_counter()
    probs = model.predict(test[0], batch_size=256, verbose=0)
    test_accuracy = float(np.mean(np.argmax(probs, axis=-1) == test[1]))
    eval_time = time.perf_counter() - t0
    metrics = {
        "test_accuracy": test_accuracy,
        "test_samples": int(len(test[1])),
        "train_samples": int(len(train[1])),
        "val_samples": int(len(val[1])),
        "val_accuracy": (history.history.get("val_accuracy") or [None])[-1],
        "epochs": int(len(history.epoch)),
        "wall_time_s": {
            "data": load_time,
            "phase_1": history.phase_wall_times[0] if history.phase_wall_times else 0.0,
            "phase_2": history.phase_wall_times[1] if len(history.phase_wall_times) > 1 else 0.0,
            "evaluate": eval_time,
            "total": time.perf_counter() - started,
        },
        "class_names": class_names,
    }
    write_json(run_dir / "metrics.json", metrics)
    _log(
        f"test accuracy {test_accuracy:.4f} on {len(test[1])} images; "
        f"wall time {metrics['wall_time_s']['total']:.0f} s; results in {run_dir}"
    )
    return run_dir
