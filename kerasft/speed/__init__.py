"""Speed: CPU defaults, batch-size finding and phase-aware schedules.

Import this package before TensorFlow to let `cpu_defaults()` switch oneDNN on:

    from kerasft.speed import cpu_defaults
    cpu_defaults()
    import kerasft as kft
"""

from kerasft.speed.cpu import cpu_defaults, tensorflow_started

__all__ = ["cpu_defaults", "tensorflow_started"]
