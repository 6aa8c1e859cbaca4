"""The fine-tuning recipe of a `kerasft fit` config: the arguments it gives `kft.fine_tune`.

`kerasft fit` and every `kft.tune` trial go through `fine_tune_kwargs`, so a config trains the
same way in both, and the `best_config.yaml` of a search reproduces its best trial.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras

from kerasft.errors import KerasftError


def ft_schedule_callbacks(ft_schedule: str | None) -> list[keras.callbacks.Callback]:
    """The callbacks of a config's `ft_schedule`: a cosine over phase 2, or none (constant).

    Raises:
        KerasftError: an unknown `ft_schedule`, naming it and the fix.
    """
    if ft_schedule == "cosine":
        from kerasft.callbacks.phase_cosine import PhaseCosine

        return [PhaseCosine(phase=2)]
    if ft_schedule is not None:
        raise KerasftError(
            f"ft_schedule={ft_schedule!r}: use 'cosine' or null (constant ft_lr); other "
            "schedules go in `callbacks:` (e.g. {name: one_cycle, max_lr: 0.001})."
        )
    return []


def fine_tune_kwargs(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The `kft.fine_tune` keyword arguments of a resolved `kerasft fit` config.

    Everything but the run's own plumbing (`run_dir`, `verbose`): phases, learning rates,
    unfreezing, optimizer, batch size, seed, feature cache, and the callbacks (the
    `ft_schedule` callback, then those of `callbacks:`). New callback instances every call.

    Raises:
        KerasftError: an unknown `ft_schedule` or a bad `callbacks:` entry; before any training.

    Example:

    >>> from kerasft import config
    >>> from kerasft.jobs.recipe import fine_tune_kwargs
    >>> kwargs = fine_tune_kwargs(config.resolve({"epochs": [2, 1], "callbacks": ["nan_guard"]}))
    >>> kwargs["epochs"], [type(c).__name__ for c in kwargs["callbacks"]]
    ((2, 1), ['PhaseCosine', 'NaNGuard'])
    """
    from kerasft import callbacks

    epochs = cfg["epochs"]
    return dict(
        epochs=epochs if isinstance(epochs, int) else tuple(epochs),
        lr=cfg["lr"],
        ft_lr=cfg["ft_lr"],
        unfreeze_blocks=cfg["unfreeze_blocks"],
        train_bn=cfg["train_bn"],
        optimizer=cfg["optimizer"],
        label_smoothing=cfg["label_smoothing"],
        batch_size=cfg["batch_size"],
        seed=cfg["seed"],
        cache=cfg["cache"],
        backup_overhead=cfg["backup_overhead"],
        callbacks=[
            *ft_schedule_callbacks(cfg["ft_schedule"]),
            *callbacks.from_config(cfg["callbacks"]),
        ],
    )
