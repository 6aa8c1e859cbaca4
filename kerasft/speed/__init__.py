"""Speed: CPU defaults and batch-size finding.

    from kerasft.speed import find_batch_size
    find_batch_size(model).batch_size      # largest that fits on a GPU, fastest on a CPU

oneDNN (the CPU kernels that make MobileNet's backward pass up to 14x faster here) must be
switched on before TensorFlow is imported: `TF_ENABLE_ONEDNN_OPTS=1`, see `cpu_defaults`.
"""

from kerasft.cache.batch_size import BatchSizeResult, find_batch_size
from kerasft.speed.cpu import cpu_defaults, tensorflow_started

__all__ = [
    "BatchSizeResult",
    "cpu_defaults",
    "find_batch_size",
    "tensorflow_started",
]
