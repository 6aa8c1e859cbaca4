"""Shared parts of the benchmarks: environment, data, the plain-Keras baseline, JSON output.

Every benchmark runs kerasft and a hand-written plain-Keras baseline (the recipe of the
Keras transfer-learning guide: a frozen backbone called every epoch, then unfreeze and
recompile) on the same data, backbone, epochs and seed, in one process, and prints one
JSON line. `emit` also appends that line, with the machine (CPU model, cores, load,
versions), the git commit and the arguments, to `bench/results/results.jsonl` (committed):
the README's performance table is generated from that file (`python bench/report.py`).
"""

from __future__ import annotations

import os
import time

# Both sides of every benchmark run with the same TensorFlow settings; oneDNN must be chosen
# before TensorFlow is imported (see kerasft/speed/cpu.py).
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import contextlib  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

warnings.filterwarnings("ignore", message=".*Weights for input shape.*")

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "results.jsonl"
LOAD_AT_START = os.getloadavg()[0]


def add_record_flag(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """`--record PATH|none`: where `emit` appends the JSON line (default: the committed file)."""
    p.add_argument(
        "--record",
        default=str(RESULTS),
        help=f"append the result line here ('none': don't); default {RESULTS.relative_to(ROOT)}",
    )
    return p


def parser(description: str, **defaults) -> argparse.ArgumentParser:
    p = add_record_flag(argparse.ArgumentParser(description=description))
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


class Stopwatch:
    """Training time so far: wall time since it was made, minus the time spent `paused()`."""

    def __init__(self):
        self.start = time.perf_counter()
        self.paused_s = 0.0

    def now(self) -> float:
        return time.perf_counter() - self.start - self.paused_s

    @contextlib.contextmanager
    def paused(self):
        began = time.perf_counter()
        try:
            yield
        finally:
            self.paused_s += time.perf_counter() - began


def race_callback(watch: Stopwatch, *, target=None, budget_s=None, test=None, full_model=None):
    """A callback that stops `fit` once `val_accuracy` reaches `target` (checked at epoch ends)
    or once `watch` passes `budget_s` (checked after every batch and at epoch ends).

    It records the validation curve against `watch` (`.curve`: `[{"t", "val_acc"}]`), the time
    the target was reached (`.reached_at`, None if never) and, when `test` is given, the test
    accuracy of `full_model` (default: the model being fitted) at that moment, clock paused.
    """
    import keras

    class Race(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.reached_at = self.test_acc_at_target = None
            self.curve = []

        def on_train_begin(self, logs=None):
            if self.reached_at is not None:  # a later phase: already done
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            if self.reached_at is not None:
                return
            if budget_s is not None and watch.now() > budget_s:
                self.model.stop_training = True  # no next epoch, not even its first batch
            val = (logs or {}).get("val_accuracy")
            if val is None:
                return
            now = watch.now()
            self.curve.append({"t": round(now, 1), "val_acc": round(float(val), 4)})
            if target is not None and val >= target:
                self.reached_at = now
                self.model.stop_training = True
                if test is not None:
                    with watch.paused():
                        self.test_acc_at_target = test_accuracy(full_model or self.model, test)

        def on_train_batch_end(self, batch, logs=None):
            over = budget_s is not None and watch.now() > budget_s
            if self.reached_at is not None or over:
                self.model.stop_training = True

    return Race()


def guide_fine_tune(train, val, args, *, image_size: int, callback, watch: Stopwatch,
                    head_epochs: int = 2, max_epochs: int = 50, ft_lr: float = 1e-5,
                    budget_s: float | None = None):  # fmt: skip
    """The Keras guide's recipe: the head on the frozen backbone (Adam 1e-3), then the whole
    backbone unfrozen at `ft_lr`, until `callback` stops it, `max_epochs` pass or `watch`
    passes `budget_s`. Returns the model (raw 28x28 images in)."""
    (x, y), (xv, yv) = train, val
    model, base = guide_model(image_size, weights(args))
    guide_compile(model, 1e-3)
    data = dict(
        x=x[..., None],
        y=one_hot(y),
        batch_size=args.batch_size,
        validation_data=(xv[..., None], one_hot(yv)),
        verbose=args.verbose,
        callbacks=[callback],
    )
    model.fit(epochs=head_epochs, **data)
    if callback.reached_at is None and (budget_s is None or watch.now() < budget_s):
        base.trainable = True
        guide_compile(model, ft_lr)
        model.fit(epochs=head_epochs + max_epochs, initial_epoch=head_epochs, **data)
    return model


def rss() -> int:
    """This process's resident memory in bytes (Linux /proc)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRSS:
    """Peak resident memory of this process during a `with` block, sampled in a thread.

    Args:
        interval: seconds between samples.

    Attributes:
        start, peak: the resident bytes at the start and the highest seen; `growth` = peak -
            start.
    """

    def __init__(self, interval: float = 0.01):
        self.interval = interval

    def __enter__(self):
        import threading

        self.start = self.peak = rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss())
            time.sleep(self.interval)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss())
        return False

    @property
    def growth(self) -> int:
        return self.peak - self.start


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


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git(*args: str) -> str:
    try:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _commit() -> str:
    # Tracked files only: untracked outputs (runs/, caches) do not make a commit dirty.
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    return _git("rev-parse", "--short=12", "HEAD") + ("-dirty" if dirty else "")


# Read when the benchmark starts: the code it runs is the code of this moment, whatever is
# committed while it runs.
COMMIT_AT_START = _commit()


def provenance() -> dict:
    """The machine, the software and the commit a result was measured on."""
    versions = {"python": platform.python_version()}
    for name in ("tensorflow", "keras", "keras_tuner", "numpy"):
        module = sys.modules.get(name)
        if module is not None:
            versions[name] = getattr(module, "__version__", "?")
    return {
        "machine": {
            "cpu": _cpu_model(),
            "cpus": os.cpu_count(),
            "arch": platform.machine(),
            "load_avg_1m_at_start": round(LOAD_AT_START, 2),
            "gpus": _gpus(),
        },
        "versions": versions,
        "commit": COMMIT_AT_START,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def _gpus() -> list[str]:
    tf = sys.modules.get("tensorflow")
    if tf is None:
        return []
    return [d.name for d in tf.config.list_physical_devices("GPU")]


def emit(result: dict, args: argparse.Namespace | None = None) -> dict:
    """Print the benchmark's one JSON line (floats rounded), record it, and return it.

    With `args` (the script's parsed arguments), the line carries them and goes to
    `args.record` too, with the machine, versions and commit (`provenance`).
    """

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
    if args is not None and str(args.record).lower() != "none":
        line = {
            **result,
            "args": {k: v for k, v in vars(args).items() if k != "record"},
            **provenance(),
        }
        path = Path(args.record)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a") as f:
            f.write(json.dumps(line) + "\n")
    return result
