"""The fine-tuning recipe of a `kerasft fit` config: the arguments it gives `kft.fine_tune`.

`kerasft fit` and every `kft.tune` trial go through `fine_tune_kwargs`, so a config trains the
same way in both, and the `best_config.yaml` of a search reproduces its best trial.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kerasft.training.fine_tune import schedule_callbacks

# Config keys that are `fine_tune` arguments of the same name and meaning.
_AS_GIVEN = (
    "lr",
    "ft_lr",
    "ft_schedule",
    "ft_warmup",
    "unfreeze_blocks",
    "train_bn",
    "optimizer",
    "label_smoothing",
    "batch_size",
    "seed",
    "cache",
    "backup_overhead",
    "lora_rank",
)


def fine_tune_kwargs(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The `kft.fine_tune` keyword arguments of a resolved `kerasft fit` config.

    Everything but the run's own plumbing (`run_dir`, `verbose`): phases, learning rates,
    unfreezing, the phase-2 schedule, optimizer, batch size, seed, feature cache, and the
    callbacks of `callbacks:` (new instances every call).

    Raises:
        KerasftError: an unknown `ft_schedule` or a bad `callbacks:` entry; before any training.

    Example:

    >>> from kerasft import config
    >>> from kerasft.jobs.recipe import fine_tune_kwargs
    >>> kwargs = fine_tune_kwargs(config.resolve({"epochs": [2, 1], "callbacks": ["nan_guard"]}))
    >>> kwargs["epochs"], kwargs["ft_schedule"], [type(c).__name__ for c in kwargs["callbacks"]]
    ((2, 1), 'cosine', ['NaNGuard'])
    """
    from kerasft import callbacks

    # An unknown schedule or a bad warm-up fails here, before any work.
    schedule_callbacks(cfg["ft_schedule"], warmup=cfg["ft_warmup"])
    epochs = cfg["epochs"]
    return dict(
        epochs=epochs if isinstance(epochs, int) else tuple(epochs),
        callbacks=callbacks.from_config(cfg["callbacks"]),
        **{key: cfg[key] for key in _AS_GIVEN},
    )
