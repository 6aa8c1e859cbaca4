"""Shared parts of the benchmarks: environment, data, the plain-Keras baseline, JSON output.

Every benchmark runs kerasft and a hand-written plain-Keras baseline (the recipe of the
Keras transfer-learning guide: a frozen backbone called every epoch, then unfreeze and
recompile) on the same data, backbone, epochs and seed, in one process, and prints one
JSON line.
"""

from __future__ import annotations

import os
import time

# Both sides of every benchmark run with the same TensorFlow settings; oneDNN must be chosen
# before TensorFlow is imported (see kerasft/speed/cpu.py).
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import json  # noqa: E402
import warnings  # noqa: E402

warnings.filterwarnings("ignore", message=".*Weights for input shape.*")


def parser(description: str, **defaults) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--train-samples", type=int, default=defaults.get("train_samples", 10_000))
    p.add_argument("--val-samples", type=int, default=defaults.get("val_samples", 2_000))
    p.add_argument("--test-samples", type=int, default=defaults.get("test_samples", 10_000))
    p.add_argument("--image-size", type=int, default=defaults.get("image_size", 96))
    p.add_argument("--batch-size", type=int, default=defaults.get("batch_size", 64))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--weights", default="imagenet", help="'imagenet' or 'none' (smoke runs)")
    p.add_argument("--verbose", type=int, default=0)
    return p


def weights(args):
    return None if str(args.weights).lower() == "none" else args.weights


def fashion_mnist(args):
    """(train, val, test) `(x uint8 28x28, y int)` splits of Fashion-MNIST, seeded."""
    import keras
    import numpy as np

    (x, y), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
    order = np.random.default_rng(args.seed).permutation(len(x))
    val = order[: args.val_samples]
    train = order[args.val_samples : args.val_samples + args.train_samples]
    return (
        (x[train], y[train]),
        (x[val], y[val]),
        (x_test[: args.test_samples], y_test[: args.test_samples]),
    )


def one_hot(y, n: int = 10):
    import numpy as np

    return np.eye(n, dtype="float32")[y]


def guide_model(image_size: int, weights, num_classes: int = 10, dropout: float = 0.2):
    """The Keras transfer-learning guide's model, by hand: (model, base_model).

    Grayscale 28x28 in, repeated to RGB, resized, scaled to [-1, 1], frozen MobileNet called
    with training=False, global average pooling, dropout, softmax.
    """
    import keras

    base = keras.applications.MobileNet(
        include_top=False, weights=weights, input_shape=(image_size, image_size, 3)
    )
    base.trainable = False
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Concatenate()([inputs, inputs, inputs])
    x = keras.layers.Resizing(image_size, image_size)(x)
    x = keras.layers.Rescaling(1 / 127.5, offset=-1)(x)
    x = base(x, training=False)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(dropout)(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs), base


def guide_compile(model, lr: float, label_smoothing: float = 0.1):
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(lr),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing),
        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
    )


def test_accuracy(model, test, batch_size: int = 256) -> float:
    x, y = test
    return float(model.evaluate(x[..., None], one_hot(y), batch_size=batch_size, verbose=0)[1])


class Clock:
    """Wall and CPU seconds of a `with` block, with the 1-minute load average at its end."""

    def __enter__(self):
        self.start, self.cpu_start = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
        self.cpu = time.process_time() - self.cpu_start
        self.load = os.getloadavg()[0]
        return False


def emit(result: dict) -> dict:
    """Print the benchmark's one JSON line (floats rounded) and return it."""

    def tidy(value):
        if isinstance(value, float):
            return round(value, 4)
        if isinstance(value, dict):
            return {k: tidy(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [tidy(v) for v in value]
        return value

    result = tidy({**result, "load_avg_1m": os.getloadavg()[0], "cpus": os.cpu_count()})
    print(json.dumps(result), flush=True)
    return result
