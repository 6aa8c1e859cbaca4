"""`find_batch_size`: the largest batch that fits on a GPU, or the fastest one on a CPU."""

from __future__ import annotations

import dataclasses
import gc
import time
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from kerasft.errors import KerasftError


def is_out_of_memory(err: BaseException) -> bool:
    """True for the errors TensorFlow raises when an allocation does not fit."""
    if isinstance(err, (tf.errors.ResourceExhaustedError, MemoryError)):
        return True
    text = str(err)
    return isinstance(err, tf.errors.InternalError) and (
        "OOM" in text or "out of memory" in text.lower() or "Failed to allocate" in text
    )


def largest_fitting(fits: Callable[[int], bool], start: int = 8, limit: int = 4096) -> int:
    """The largest batch size `b <= limit` with `fits(b)`: doubling from `start`, then a
    binary search between the last size that fitted and the first that did not.

    Returns 0 when not even `start` fits (and `start` > 1 did not: sizes down to 1 are tried).

    Example:

    >>> from kerasft.cache.batch_size import largest_fitting
    >>> largest_fitting(lambda b: b <= 300)
    300
    """
    if not fits(start):
        return _bisect(fits, 0, start)  # shrink towards 1
    low, high = start, None
    while high is None:
        nxt = low * 2
        if nxt > limit:
            if low < limit and fits(limit):
                return limit
            high = min(nxt, limit)
            break
        if fits(nxt):
            low = nxt
        else:
            high = nxt
    return _bisect(fits, low, high)


def _bisect(fits: Callable[[int], bool], low: int, high: int) -> int:
    """The largest size in [low, high) that fits, where `low` fits (or is 0) and `high` not."""
    while high - low > 1:
        mid = (low + high) // 2
        if fits(mid):
            low = mid
        else:
            high = mid
    return low


@dataclasses.dataclass
class BatchSizeResult:
    """What `find_batch_size` measured: the chosen size and samples/s per tried size.

    `int(result)` is the chosen batch size.

    Attributes:
        batch_size: the chosen batch size.
        goal: the goal it was chosen for, "memory" or "throughput" ("auto" resolved).
        throughput: samples per second of each size that fit, by size, smallest first.
        seconds: wall-clock seconds the search took.
    """

    batch_size: int
    goal: str
    throughput: dict[int, float]
    seconds: float

    def __int__(self) -> int:
        return self.batch_size


class _Probe:
    """Runs forward+backward passes of `model` on random batches, leaving no trace: no
    optimizer step, and every variable (BatchNorm statistics, random seeds) restored."""

    def __init__(self, model: keras.Model, training: bool = True):
        self.model = model
        self.training = training
        self.input_shape = tuple(model.input_shape[1:])
        if any(d is None for d in self.input_shape):
            raise KerasftError(
                f"find_batch_size needs a fixed input shape; the model takes {model.input_shape}."
            )
        self.output_shape = tuple(model.output_shape[1:])
        self.dtype = model.inputs[0].dtype if model.inputs else "float32"

        @tf.function(reduce_retracing=True)
        def step(x, y):
            with tf.GradientTape() as tape:
                pred = model(x, training=self.training)
                loss = tf.reduce_mean(tf.square(tf.cast(pred, tf.float32) - y))
            variables = model.trainable_variables
            return tape.gradient(loss, variables) if variables else loss

        self.step = step

    def batch(self, size: int):
        x = tf.random.uniform((size, *self.input_shape), 0, 1)
        x = tf.cast(x * 255 if "int" in str(self.dtype) else x, self.dtype)
        return x, tf.zeros((size, *self.output_shape))

    def time(self, size: int, steps: int) -> float:
        """Seconds per step (median of `steps` after one warm-up step)."""
        x, y = self.batch(size)
        self.step(x, y)  # trace and warm up
        times = []
        for _ in range(steps):
            start = time.perf_counter()
            out = self.step(x, y)
            tf.nest.map_structure(lambda t: t.numpy() if hasattr(t, "numpy") else t, out)
            times.append(time.perf_counter() - start)
        return float(np.median(times))

    def __enter__(self):
        self._saved = [v.numpy() for v in self.model.variables]
        return self

    def __exit__(self, *exc):
        for variable, value in zip(self.model.variables, self._saved):
            variable.assign(value)
        gc.collect()
        return False


def find_batch_size(
    model: keras.Model,
    *,
    goal: str = "auto",
    start: int = 8,
    limit: int = 1024,
    steps: int = 3,
    tolerance: float = 0.03,
    verbose: int = 0,
) -> BatchSizeResult:
    """Find a training batch size for `model` as it is now (only its trainable part costs
    backward passes, so re-run it after unfreezing).

    Args:
        model: a built model with a fixed input shape.
        goal: "memory" (the largest batch that fits: doubling, then a binary search, each
            out-of-memory error caught), "throughput" (the batch with the most samples per
            second among powers of two) or "auto" ("memory" on a GPU, "throughput" on CPU).
        start, limit: the smallest and largest sizes tried.
        steps: timed steps per size ("throughput").
        tolerance: "throughput" returns the smallest size within this fraction of the best
            throughput (smaller batches mean more updates per epoch).
        verbose: print each measurement.

    The probe computes gradients without applying them and restores every variable, so the
    model (weights, BatchNorm statistics, dropout seeds) is exactly as before.

    Example:

    >>> import keras
    >>> from kerasft.cache.batch_size import find_batch_size
    >>> model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4)])
    >>> result = find_batch_size(model, goal="throughput", limit=64)
    >>> fastest = max(result.throughput.values())
    >>> result.batch_size == min(b for b, t in result.throughput.items() if t >= 0.97 * fastest)
    True
    """
    from kerasft.training.devices import has_gpu

    if goal == "auto":
        goal = "memory" if has_gpu() else "throughput"
    if goal not in ("memory", "throughput"):
        from kerasft.errors import unknown_name

        raise unknown_name("goal", goal, ("auto", "memory", "throughput"))
    if not (isinstance(start, int) and isinstance(limit, int) and 1 <= start <= limit):
        raise KerasftError(f"Need 1 <= start <= limit, got start={start!r}, limit={limit!r}.")
    began = time.perf_counter()
    throughput: dict[int, float] = {}
    with _Probe(model) as probe:

        def fits(size: int) -> bool:
            try:
                throughput[size] = size / probe.time(size, 1)
            except Exception as err:  # noqa: BLE001 - only out-of-memory is expected
                if not is_out_of_memory(err):
                    raise
                gc.collect()
                if verbose:
                    print(f"kerasft batch size: {size} does not fit")
                return False
            if verbose:
                print(f"kerasft batch size: {size} fits ({throughput[size]:.0f} samples/s)")
            return True

        if goal == "memory":
            best = largest_fitting(fits, start=start, limit=limit)
            if best == 0:
                raise KerasftError(
                    "Not even a batch of 1 fits in device memory; use a smaller image_size or "
                    "backbone, or enable mixed precision."
                )
        else:
            size, worse = start, 0
            while size <= limit and worse < 2:
                if not fits(size):
                    break
                throughput[size] = size / probe.time(size, steps)
                if verbose:
                    print(f"kerasft batch size: {size}: {throughput[size]:.0f} samples/s")
                top = max(throughput.values())
                worse = worse + 1 if throughput[size] < top else 0
                size *= 2
            if not throughput:
                raise KerasftError(
                    f"Not even the starting batch of start={start} fits in device memory; pass "
                    "a smaller start, or use a smaller image_size or backbone, or enable mixed "
                    "precision."
                )
            top = max(throughput.values())
            best = min(b for b, t in throughput.items() if t >= (1 - tolerance) * top)
    return BatchSizeResult(
        best, goal, dict(sorted(throughput.items())), time.perf_counter() - began
    )
