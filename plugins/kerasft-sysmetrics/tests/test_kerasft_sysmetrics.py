"""SystemMetrics: readings land in the epoch logs and in a TensorBoard event file (read back)."""

from __future__ import annotations

import glob
import os

import keras
import numpy as np
import psutil
import pytest
import tensorflow as tf
from kerasft_sysmetrics import SystemMetrics

import kerasft.callbacks as kcb
from kerasft.errors import KerasftError

KEYS = ("cpu_percent", "process_cpu_percent", "ram_percent", "ram_used_gb", "process_rss_gb")


def read_scalars(run_dir):
    scalars = {}
    for path in glob.glob(os.path.join(run_dir, "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                scalars.setdefault(value.tag, []).append(
                    (event.step, float(tf.make_ndarray(value.tensor)))
                )
    return scalars


def fit(callbacks, epochs=3):
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16), keras.layers.Dense(1)])
    model.compile("adam", "mse")
    x = np.random.default_rng(0).normal(size=(256, 8)).astype("float32")
    return model.fit(x, x[:, :1], batch_size=32, epochs=epochs, verbose=0, callbacks=callbacks)


def test_epoch_logs_and_tensorboard_agree(tmp_path):
    metrics = SystemMetrics(log_dir=tmp_path)
    csv = tmp_path / "log.csv"
    history = fit([metrics, keras.callbacks.CSVLogger(str(csv))])
    metrics.close()
    for key in KEYS:
        assert len(history.history[key]) == 3, key
    assert all(0 <= v <= 100 for v in history.history["cpu_percent"])
    assert all(0 < v < 100 for v in history.history["ram_percent"])
    rss = psutil.Process().memory_info().rss / 1024**3
    assert history.history["process_rss_gb"][-1] == pytest.approx(rss, rel=0.25)
    total = psutil.virtual_memory().total / 1024**3
    assert 0 < history.history["ram_used_gb"][-1] < total
    # A callback after it in the list sees the readings too.
    assert "cpu_percent" in csv.read_text().splitlines()[0]

    scalars = read_scalars(tmp_path / "system")
    for key in KEYS:
        points = scalars[f"system/{key}"]
        assert [s for s, _ in points] == [0, 1, 2]
        assert [v for _, v in points] == pytest.approx(history.history[key], rel=1e-6)
    if not tf.config.list_physical_devices("GPU"):
        assert not any(tag.startswith("system/gpu") for tag in scalars)


def test_logs_only_without_log_dir(tmp_path):
    metrics = SystemMetrics()
    history = fit([metrics], epochs=1)
    assert metrics.writer_dir is None and set(KEYS) <= set(history.history)
    assert not list(tmp_path.iterdir())


@pytest.mark.skipif(not tf.config.list_physical_devices("GPU"), reason="needs a GPU")
def test_gpu_memory_is_recorded(tmp_path):
    with tf.device("GPU:0"):
        held = tf.ones((1024, 1024, 16))  # 64 MiB that stays allocated during the fit
        metrics = SystemMetrics(log_dir=tmp_path, run_name=None)
        history = fit([metrics], epochs=2)
    metrics.close()
    assert history.history["gpu0_memory_gb"][-1] >= 64 / 1024
    assert history.history["gpu0_peak_memory_gb"][-1] >= history.history["gpu0_memory_gb"][-1]
    assert [s for s, _ in read_scalars(tmp_path)["system/gpu0_memory_gb"]] == [0, 1]
    del held


def test_registered_as_the_system_metrics_plugin(tmp_path):
    origins = {info.name: info.origin for info in kcb.entries()}
    assert origins["system_metrics"] == "kerasft-sysmetrics 0.1.0"
    [metrics] = kcb.from_config(
        [{"name": "system_metrics", "log_dir": str(tmp_path), "gpu": False}]
    )
    assert isinstance(metrics, SystemMetrics) and metrics.writer_dir == str(tmp_path / "system")
    with pytest.raises(KerasftError, match="log_dir must be a directory path"):
        SystemMetrics(log_dir=3)
