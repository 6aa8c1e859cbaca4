"""`resolve_strategy`: "auto", "mirrored", "one_device", None or a `tf.distribute.Strategy`."""

from __future__ import annotations

from kerasft.errors import KerasftError

STRATEGIES = ("auto", "mirrored", "one_device")


def resolve_strategy(strategy="auto"):
    """The `tf.distribute.Strategy` trials train under, or None for TensorFlow's default.

    "auto" is MirroredStrategy over all GPUs when there are several, else None. "mirrored"
    mirrors over all GPUs, or over all logical CPUs when there is no GPU; on CPUs it reduces
    through one device (NCCL-free collectives fail with "shape mismatch" there).

    Args:
        strategy: "auto", "mirrored", "one_device", None or a `tf.distribute.Strategy`
            (returned as it is).

    Example:

    >>> from kerasft.tuning.strategy import resolve_strategy
    >>> resolve_strategy("auto") is None  # a machine with at most one GPU
    True
    """
    import tensorflow as tf

    if strategy is None or isinstance(strategy, tf.distribute.Strategy):
        return strategy
    if strategy not in STRATEGIES:
        raise KerasftError(
            f"strategy={strategy!r}: pass one of {', '.join(STRATEGIES)}, None or a "
            "tf.distribute.Strategy instance."
        )
    gpus = tf.config.list_logical_devices("GPU")
    if strategy == "auto":
        return tf.distribute.MirroredStrategy() if len(gpus) > 1 else None
    if strategy == "one_device":
        return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
    if gpus:
        return tf.distribute.MirroredStrategy()
    cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
    return tf.distribute.MirroredStrategy(
        cpus, cross_device_ops=tf.distribute.ReductionToOneDevice()
    )
