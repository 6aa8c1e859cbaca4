"""Learning-rate schedules (`keras.optimizers.schedules.LearningRateSchedule`), counted in
optimizer steps, to pass as an optimizer's `learning_rate`.

kerasft adds `OneCycle`, `Warmup` (in front of any schedule) and `StepDecay`, all registered
as serializable under the "kerasft" package. The others are Keras's own, re-exported so every
schedule of `kerasft.callbacks` has its schedule here: `CosineRestarts` is Keras's
`CosineDecayRestarts` (SGDR), `ExponentialDecay` and `PolynomialDecay` are Keras's.

The callbacks of the same names (`kft.callbacks.OneCycle`, ...) drive a plain float learning
rate instead, count in epochs, and log the rate.

Example:

    import keras, kerasft as kft
    schedule = kft.schedules.Warmup(kft.schedules.CosineRestarts(1e-3, 500), warmup_steps=100)
    model.compile(keras.optimizers.Adam(schedule), "mse")
"""

from keras.optimizers.schedules import (
    CosineDecay,
    CosineDecayRestarts,
    ExponentialDecay,
    PolynomialDecay,
)

from kerasft.schedules.one_cycle import OneCycle, one_cycle_value
from kerasft.schedules.step_decay import StepDecay
from kerasft.schedules.warmup import Warmup

CosineRestarts = CosineDecayRestarts

__all__ = [
    "CosineDecay",
    "CosineDecayRestarts",
    "CosineRestarts",
    "ExponentialDecay",
    "OneCycle",
    "PolynomialDecay",
    "StepDecay",
    "Warmup",
    "one_cycle_value",
]
