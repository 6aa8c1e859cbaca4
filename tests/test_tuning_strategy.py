"""Trials under MirroredStrategy on two logical CPU devices (own process: devices must be
configured before TensorFlow initialises)."""

import json
import os
import subprocess
import sys
import textwrap
from collections import Counter

import pytest

from kerasft.errors import KerasftError
from kerasft.tuning.strategy import resolve_strategy

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import keras
    import numpy as np
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2
    )
    from kerasft.tuning import SearchSpace, tune
    from kerasft.tuning.backbones import small_cnn
    from kerasft.tuning.strategy import resolve_strategy

    SEEN = []  # (replica id, images) of every batch the backbone ran on, as it ran


    class ReplicaProbe(keras.layers.Layer):
        def call(self, x):
            context = tf.distribute.get_replica_context()
            replica = -1 if context is None else context.replica_id_in_sync_group
            tf.py_function(
                lambda r, n: SEEN.append((int(r), int(n))), [replica, tf.shape(x)[0]], []
            )
            return x


    def probed_cnn(image_size):
        net = small_cnn(image_size)
        return keras.Model(net.input, ReplicaProbe(name="probe")(net.output))


    strategy = resolve_strategy("mirrored")
    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, (64, 32, 32, 3)).astype("uint8")
    y = np.arange(64) % 3
    result = tune(
        (x, y), (x[:32], y[:32]),
        space=SearchSpace({"hidden_units": [0, 64]}, only=["hidden_units"]),
        base={"backbone": "__main__:probed_cnn", "weights": None, "image_size": 32,
              "epochs": [1, 1], "batch_size": 16, "unfreeze_blocks": 1},
        tuner="grid", max_trials=2, strategy=strategy, directory=sys.argv[1],
        overwrite=True, export=False,
    )
    print("RESULT " + json.dumps({
        "replicas": strategy.num_replicas_in_sync,
        "rows": [{k: r[k] for k in ("status", "hidden_units")} for r in result.rows],
        "seen": SEEN,
    }))
    """
)


def test_trials_of_different_sizes_run_under_mirrored_strategy(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("RESULT "))
    result = json.loads(line[len("RESULT ") :])
    assert result["replicas"] == 2
    assert sorted(r["hidden_units"] for r in result["rows"]) == [0, 64]
    assert {r["status"] for r in result["rows"]} == {"COMPLETED"}
    # Every batch was split over both replicas: each ran its half (8 of the global 16) of
    # every training and validation batch: 2 trials x 2 phases x (4 + 2) batches each.
    seen = Counter(map(tuple, result["seen"]))
    assert seen == {(0, 8): 24, (1, 8): 24}, seen


def test_unknown_strategy_is_refused():
    with pytest.raises(KerasftError, match="one_device"):
        resolve_strategy("tpu")
