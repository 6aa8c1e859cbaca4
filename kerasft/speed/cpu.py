"""CPU defaults measured on a 2-core x86 machine: oneDNN on, one thread per core, no XLA.

TensorFlow ships with oneDNN kernels but enables them only on some CPUs; on this AMD EPYC
they were off, and TensorFlow's fallback for the backward pass of 1x1 convolutions is up to
14x slower (MobileNet's pointwise layers at 2x2x1024: 148 vs 1976 images per CPU-second).
"""

from __future__ import annotations

import os
import sys
import warnings


def tensorflow_started() -> bool:
    """True once TensorFlow is imported (its thread pools and oneDNN choice are then fixed
    the first time an op runs)."""
    return "tensorflow" in sys.modules


def cpu_defaults(threads: int | None = None, *, onednn: bool = True) -> dict:
    """Apply kerasft's CPU settings; call before TensorFlow is imported for full effect.

    Args:
        threads: threads per op (intra-op); None keeps TensorFlow's default (one per core),
            which measured best here. Inter-op parallelism is left at TensorFlow's default.
        onednn: enable TensorFlow's oneDNN kernels (`TF_ENABLE_ONEDNN_OPTS=1`) unless the
            user has set the variable.

    Returns the settings in force.

    Example:

    >>> from kerasft.speed import cpu_defaults
    >>> cpu_defaults()["TF_ENABLE_ONEDNN_OPTS"] in ("0", "1")
    True
    """
    if onednn and "TF_ENABLE_ONEDNN_OPTS" not in os.environ:
        if tensorflow_started():
            warnings.warn(
                "kerasft.speed.cpu_defaults(): TensorFlow is already imported, so oneDNN "
                "cannot be switched on any more. Call it (or set TF_ENABLE_ONEDNN_OPTS=1) "
                "before importing tensorflow / keras / kerasft models.",
                stacklevel=2,
            )
        else:
            os.environ["TF_ENABLE_ONEDNN_OPTS"] = "1"
    if threads is not None:
        if tensorflow_started():
            import tensorflow as tf

            try:
                tf.config.threading.set_intra_op_parallelism_threads(int(threads))
            except RuntimeError:
                warnings.warn(
                    f"kerasft.speed.cpu_defaults(threads={threads}): TensorFlow has already "
                    "run ops; the thread count can only be set before the first op.",
                    stacklevel=2,
                )
        else:
            os.environ["TF_NUM_INTRAOP_THREADS"] = str(int(threads))
    return {
        "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "0"),
        "threads": threads,
    }
