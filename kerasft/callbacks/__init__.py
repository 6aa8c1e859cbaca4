"""Every callback a fine-tuning run needs, from one import: kerasft's, Keras's own and plugins'.

    import kerasft as kft
    model.fit(
        x, y, epochs=5, verbose=0,
        callbacks=[
            kft.callbacks.get("one_cycle", max_lr=1e-3),   # by name, as a YAML config does
            kft.callbacks.ReduceLROnPlateau(patience=2),   # Keras's own, re-exported
            kft.callbacks.ProgressBar(),
        ],
    )

`get(name, **kwargs)` builds any callback by name, `from_config([...])` a list of them, `names()`
lists the names. kerasft's callback classes are imported on first access, so this package imports
(and Keras's callbacks work) even when one of their modules is broken.
"""

from __future__ import annotations

import importlib
from typing import Any

from keras.callbacks import (
    BackupAndRestore,
    Callback,
    CSVLogger,
    LambdaCallback,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
    SwapEMAWeights,
    TensorBoard,
    TerminateOnNaN,
)

from kerasft.callbacks.registry import entries, from_config, get, get_class, names

# Public names served lazily: name -> "module:attribute".
_LAZY: dict[str, str] = {
    "EarlyStopping": "kerasft.callbacks.early_stopping:EarlyStopping",
    "OneCycle": "kerasft.callbacks.one_cycle:OneCycle",
    "CosineRestarts": "kerasft.callbacks.cosine_restarts:CosineRestarts",
    "Warmup": "kerasft.callbacks.warmup:Warmup",
    "StepDecay": "kerasft.callbacks.step_decay:StepDecay",
    "ExponentialDecay": "kerasft.callbacks.exponential_decay:ExponentialDecay",
    "PolynomialDecay": "kerasft.callbacks.polynomial_decay:PolynomialDecay",
    "PhaseCosine": "kerasft.callbacks.phase_cosine:PhaseCosine",
    "GradientClipping": "kerasft.callbacks.gradient_clipping:GradientClipping",
    "GradientNormMonitor": "kerasft.callbacks.gradient_norm:GradientNormMonitor",
    "GradualUnfreezing": "kerasft.callbacks.gradual_unfreezing:GradualUnfreezing",
    "LRFinder": "kerasft.callbacks.lr_finder:LRFinder",
    "find_lr": "kerasft.callbacks.lr_finder:find_lr",
    "NaNGuard": "kerasft.callbacks.nan_guard:NaNGuard",
    "TensorBoardExtras": "kerasft.callbacks.tensorboard_extras:TensorBoardExtras",
    "ProgressBar": "kerasft.callbacks.progress:ProgressBar",
}

__all__ = [
    "BackupAndRestore",
    "Callback",
    "CSVLogger",
    "LambdaCallback",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "ReduceLROnPlateau",
    "SwapEMAWeights",
    "TensorBoard",
    "TerminateOnNaN",
    "entries",
    "from_config",
    "get",
    "get_class",
    "names",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, _, attr = target.partition(":")
    try:
        value = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as err:
        raise AttributeError(
            f"kerasft.callbacks.{name} is unavailable: {module} could not be imported "
            f"({type(err).__name__}: {err})."
        ) from err
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
