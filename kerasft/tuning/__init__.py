"""Hyperparameter search for fine-tuning: `kft.tune`, its search space, hypermodel and tuners."""

from kerasft.tuning.space import SearchSpace, to_config
from kerasft.tuning.tune import TuneResult, tune


def __getattr__(name):
    # Modules that import keras_tuner load on first use.
    if name == "FineTuneHyperModel":
        from kerasft.tuning.hypermodel import FineTuneHyperModel

        return FineTuneHyperModel
    if name == "resolve_strategy":
        from kerasft.tuning.strategy import resolve_strategy

        return resolve_strategy
    raise AttributeError(f"module 'kerasft.tuning' has no attribute {name!r}")


__all__ = [
    "FineTuneHyperModel",
    "SearchSpace",
    "TuneResult",
    "resolve_strategy",
    "to_config",
    "tune",
]
