"""Every use of a Keras or KerasTuner private API in kerasft, each with the reason for it.

Nothing else in `kerasft/` touches a private attribute of Keras or KerasTuner: when a new
release renames or changes one, this module is the one place to fix, and
`tests/test_compat.py` fails loudly on the first call that no longer works. Where a public
API does the job, kerasft uses that instead.
"""

from __future__ import annotations

from typing import Any

import keras

# -- fit's resume epoch ---------------------------------------------------------------------
# `BackupAndRestore` tells `fit` where to resume by setting `model._initial_epoch` when it
# restores a backup; `fit` reads it in place of its `initial_epoch` argument. Keras has no
# public way to read or clear it, and never clears it itself.


def resume_epoch(model: keras.Model) -> int | None:
    """The epoch a `BackupAndRestore` restore asked `model`'s next `fit` to start at."""
    return getattr(model, "_initial_epoch", None)


def set_resume_epoch(model: keras.Model, epoch: int | None) -> None:
    """Set (or with None clear) the epoch `model`'s running `fit` resumes at.

    Cleared before each phase (a resumed phase 1 would otherwise start phase 2 at its
    epoch), and moved from the full model to the cut that trains on cached features.
    """
    model._initial_epoch = epoch


# -- compile arguments ----------------------------------------------------------------------
# The cut that trains on cached features is compiled with the full model's loss, metrics and
# *the same optimizer object* (LR callbacks and optimizer state must reach it). The public
# `get_compile_config()` serializes the optimizer, so rebuilding from it would make a new one.


def compile_arguments(model: keras.Model) -> dict[str, Any]:
    """The keyword arguments `model.compile` was last called with."""
    config = getattr(model, "_compile_config", None)
    if config is None or not hasattr(config, "config"):
        raise RuntimeError(
            "kerasft.compat.compile_arguments: this Keras version no longer records "
            "`model._compile_config.config`; update kerasft/compat.py."
        )
    return dict(config.config)
