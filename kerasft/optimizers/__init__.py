"""Optimizer tools that work on any Keras 3 optimizer, without subclassing it.

- `discriminative_lr`: per-layer-group learning-rate multipliers (fastai's `lr_mult`).
- `add_gradient_hook` / `remove_gradient_hook`: transform gradients before they are applied.
- `add_trainable_variables`: give a built optimizer slots for newly unfrozen weights, keeping
  the state it has.
- `TrainingState`: snapshot and restore weights plus optimizer variables.
- `schedule_hyperparameter`: make `beta_1`/`momentum` settable per batch.
"""

from kerasft.optimizers.discriminative import discriminative_lr, lr_multipliers
from kerasft.optimizers.gradient_hooks import add_gradient_hook, global_norm, remove_gradient_hook
from kerasft.optimizers.hyperparameters import (
    ScheduledHyperparameter,
    schedule_hyperparameter,
    unschedule_hyperparameter,
)
from kerasft.optimizers.layer_groups import layer_groups
from kerasft.optimizers.state import TrainingState, add_trainable_variables

__all__ = [
    "ScheduledHyperparameter",
    "TrainingState",
    "add_gradient_hook",
    "add_trainable_variables",
    "discriminative_lr",
    "global_norm",
    "layer_groups",
    "lr_multipliers",
    "remove_gradient_hook",
    "schedule_hyperparameter",
    "unschedule_hyperparameter",
]
