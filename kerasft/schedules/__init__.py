"""kerasft's learning-rate schedules (`keras.optimizers.schedules.LearningRateSchedule`), counted
in optimizer steps, to pass as an optimizer's `learning_rate`.

`OneCycleSchedule`, `WarmupSchedule` (in front of any schedule) and `StepDecaySchedule` are
registered as serializable under the "kerasft" package. Keras's own schedules stay in
`keras.optimizers.schedules` (`CosineDecayRestarts`, `ExponentialDecay`, `PolynomialDecay`, ...).

The callbacks of `kerasft.callbacks` (`OneCycle`, `Warmup`, `StepDecay`, `CosineRestarts`, ...)
run these schedules on a plain float learning rate instead, count in epochs, and log the rate.

Example:

    import keras, kerasft as kft
    restarts = keras.optimizers.schedules.CosineDecayRestarts(1e-3, 500)
    schedule = kft.schedules.WarmupSchedule(restarts, warmup_steps=100)
    model.compile(keras.optimizers.Adam(schedule), "mse")
"""

from kerasft.schedules.one_cycle import OneCycleSchedule, one_cycle_value
from kerasft.schedules.step_decay import StepDecaySchedule
from kerasft.schedules.warmup import WarmupSchedule

__all__ = ["OneCycleSchedule", "StepDecaySchedule", "WarmupSchedule", "one_cycle_value"]
