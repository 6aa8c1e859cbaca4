"""CPU, memory and GPU-memory use per epoch, in the epoch logs and in TensorBoard."""

from __future__ import annotations

import os
from typing import Any

import keras

_GB = 1024**3


class SystemMetrics(keras.callbacks.Callback):
    """Records how hard the machine works during training, once per epoch.

    Adds to the epoch logs (so History, CSVLogger, MLflow and progress bars see them, when they
    come after this callback in the list; Keras's own History always does):

    - `cpu_percent`: machine-wide CPU use since the previous epoch end (psutil), 0-100.
    - `process_cpu_percent`: this process's CPU use over the same span (100 = one full core).
    - `ram_percent`, `ram_used_gb`: machine memory in use; `process_rss_gb`: this process's.
    - `gpu<i>_memory_gb`, `gpu<i>_peak_memory_gb`: TensorFlow's memory on each visible GPU
      (`tf.config.experimental.get_memory_info`); absent on a machine without GPUs.

    With `log_dir`, the same values go to TensorBoard as `system/<name>` at step = epoch, in the
    run `log_dir/<run_name>`.

    Args:
        log_dir: TensorBoard run directory (the one given to `keras.callbacks.TensorBoard`), or None
            for the logs only.
        run_name: subdirectory of `log_dir` written to; None writes into `log_dir` itself.
        gpu: also record GPU memory (set False to skip the GPU query).

    Example:

    >>> import numpy as np, keras
    >>> from kerasft_sysmetrics import SystemMetrics
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    >>> model.compile("sgd", "mse")
    >>> history = model.fit(np.zeros((8, 3)), np.zeros((8, 1)), epochs=2, verbose=0,
    ...                     callbacks=[SystemMetrics()])
    >>> len(history.history["ram_percent"])
    2
    """

    def __init__(
        self,
        log_dir: str | os.PathLike | None = None,
        run_name: str | None = "system",
        gpu: bool = True,
    ):
        super().__init__()
        if log_dir is not None and not isinstance(log_dir, (str, os.PathLike)):
            from kerasft.errors import KerasftError

            raise KerasftError(
                f"SystemMetrics: log_dir must be a directory path or None, got {log_dir!r}."
            )
        self.log_dir = os.fspath(log_dir) if log_dir is not None else None
        self.run_name = run_name
        self.gpu = gpu
        self._writer = None
        self._process = None

    @property
    def writer_dir(self) -> str | None:
        """The directory the event file goes to, or None without `log_dir`."""
        if self.log_dir is None:
            return None
        return os.path.join(self.log_dir, self.run_name) if self.run_name else self.log_dir

    def get_config(self) -> dict[str, Any]:
        return {"log_dir": self.log_dir, "run_name": self.run_name, "gpu": self.gpu}

    def measure(self) -> dict[str, float]:
        """The current readings, as added to the epoch logs."""
        import psutil

        if self._process is None:
            self._start()
        memory = psutil.virtual_memory()
        values = {
            "cpu_percent": float(psutil.cpu_percent(interval=None)),
            "process_cpu_percent": float(self._process.cpu_percent(interval=None)),
            "ram_percent": float(memory.percent),
            "ram_used_gb": (memory.total - memory.available) / _GB,
            "process_rss_gb": self._process.memory_info().rss / _GB,
        }
        if self.gpu:
            values.update(_gpu_memory())
        return values

    def _start(self) -> None:
        import psutil

        self._process = psutil.Process()
        # psutil's CPU percentages are "since the previous call": the first call starts the clock.
        psutil.cpu_percent(interval=None)
        self._process.cpu_percent(interval=None)

    def on_train_begin(self, logs=None):
        self._start()
        if self.log_dir is not None and self._writer is None:
            import tensorflow as tf

            self._writer = tf.summary.create_file_writer(self.writer_dir)

    def on_epoch_end(self, epoch, logs=None):
        values = self.measure()
        if logs is not None:
            logs.update(values)
        if self._writer is not None:
            import tensorflow as tf

            with self._writer.as_default():
                for name, value in values.items():
                    tf.summary.scalar(f"system/{name}", value, step=epoch)
            self._writer.flush()

    def close(self) -> None:
        """Close the event file."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _gpu_memory() -> dict[str, float]:
    import tensorflow as tf

    values = {}
    for i, _ in enumerate(tf.config.list_logical_devices("GPU")):
        try:
            info = tf.config.experimental.get_memory_info(f"GPU:{i}")
        except (ValueError, RuntimeError):  # a device TF cannot report on
            continue
        values[f"gpu{i}_memory_gb"] = info["current"] / _GB
        values[f"gpu{i}_peak_memory_gb"] = info["peak"] / _GB
    return values
