"""Speed: CPU defaults, batch-size finding and a phase-aware learning-rate schedule.

    from kerasft.speed import find_batch_size
    find_batch_size(model).batch_size      # largest that fits on a GPU, fastest on a CPU

oneDNN (the CPU kernels that make MobileNet's backward pass up to 14x faster here) must be
switched on before TensorFlow is imported: `TF_ENABLE_ONEDNN_OPTS=1`, see `cpu_defaults`.
"""

from kerasft.speed.batch_size import BatchSizeResult, find_batch_size
from kerasft.speed.cpu import cpu_defaults, tensorflow_started
from kerasft.speed.schedules import PhaseCosine

__all__ = [
    "BatchSizeResult",
    "PhaseCosine",
    "cpu_defaults",
    "find_batch_size",
    "tensorflow_started",
]
