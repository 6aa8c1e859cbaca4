"""A phase-2 epoch of the default job on the cached runner, before and after its fast path.

    python bench/phase2_epoch.py                        # 20,000 images, epochs 1 + 2, 2 rounds
    python bench/phase2_epoch.py --train-samples 2000 --rounds 1 --weights none   # smoke

Runs `kerasft fit`'s default recipe (`kft.fine_tune` with the job's keyword arguments; the
cache on, 64 px, the top blocks unfrozen) on the same Fashion-MNIST images the way the cached
runner did before (`CachedRunner(fast_kernels=False)`: the phase-2 model as Keras builds it,
the feature batches with `tf.data`'s autotuner on, whose wake-ups the end of a `fit`
waited for, and the optimizer's slots made inside the first step, which `tf.function` then
traces twice) and the way it does now (the defaults: `kerasft.cache.twins`, the batches
through `kerasft.data.pipeline.untuned`, autotuning off, and `build_before_fit`), in turns (`--rounds` of each, in one
process, the same seed), and reports each phase-2 epoch's wall time and CPU use (user + system
over wall; 200% = both of 2 cores busy), the sum of its training batches (the rest is
validation and epoch ends), the median epoch of each side, their ratio (and that of the batches alone), and each side's test
accuracy (the same function trains, so they should agree within run-to-run noise). Issue #11's
aim: phase 2 keeps both cores busy (>= 180%) and its epoch is >= 1.3x faster.
Prints one JSON line.
"""

from __future__ import annotations

import resource
import statistics
import time

import _common as c


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> dict:
    p = c.parser(
        __doc__.splitlines()[0], train_samples=20_000, test_samples=5_000, image_size=64,
        batch_size=128,
    )  # fmt: skip
    p.add_argument("--epochs", type=int, nargs=2, default=(1, 2))
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args()

    import keras

    import kerasft as kft
    import kerasft.cache.runner as cached_runner
    from kerasft import config
    from kerasft.cache import CachedRunner
    from kerasft.jobs.recipe import fine_tune_kwargs
    from kerasft.training import current_phase

    class Phase2Clock(keras.callbacks.Callback):
        """Wall, CPU and batch time of each phase-2 epoch."""

        def __init__(self):
            super().__init__()
            self.epochs = []

        def on_epoch_begin(self, epoch, logs=None):
            self._wall, self._cpu, self._batches = time.perf_counter(), cpu_seconds(), 0.0

        def on_train_batch_begin(self, batch, logs=None):
            self._batch = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self._batches += time.perf_counter() - self._batch

        def on_epoch_end(self, epoch, logs=None):
            phase = current_phase(self.model)
            if phase is None or phase.number != 2:
                return
            wall = time.perf_counter() - self._wall
            self.epochs.append(
                {
                    "s": round(wall, 2),
                    "cpu_pct": round(100 * (cpu_seconds() - self._cpu) / wall),
                    "batches_s": round(self._batches, 2),
                }
            )

    train, val, test = c.fashion_mnist(args)
    cfg = config.resolve(
        {
            "epochs": list(args.epochs),
            "image_size": args.image_size,
            "batch_size": args.batch_size,
            "seed": args.seed,
        }
    )
    recipe = fine_tune_kwargs(cfg)
    untuned, build_before_fit = cached_runner.untuned, cached_runner.build_before_fit
    sides = {"before": False, "now": True}
    results = {name: {"epochs": [], "test_accuracy": []} for name in sides}
    for _ in range(args.rounds):
        for name, fast in sides.items():
            keras.utils.set_random_seed(args.seed)
            model = kft.build(
                cfg["backbone"], 10, input_shape=(28, 28, 1), image_size=args.image_size,
                weights=c.weights(args), dropout=cfg["dropout"],
            )  # fmt: skip
            clock = Phase2Clock()
            runner = CachedRunner("memory", fast_kernels=fast, verbose=args.verbose)
            # Before: the feature batches as tf.data builds them by default (autotuner on).
            cached_runner.untuned = untuned if fast else (lambda ds, options=None: ds)
            # Before: Keras built the optimizer slots inside the first step (traced twice).
            cached_runner.build_before_fit = build_before_fit if fast else (lambda *a: None)
            kwargs = {**recipe, "cache": runner}
            kwargs["callbacks"] = [*kwargs["callbacks"], clock]
            kft.fine_tune(model, train, val, **kwargs, verbose=args.verbose)
            results[name]["epochs"] += clock.epochs
            results[name]["test_accuracy"].append(round(c.test_accuracy(model, test), 4))
            results[name]["runner"] = runner.report.get(2)
    for side in results.values():
        side["median_epoch_s"] = statistics.median(e["s"] for e in side["epochs"])
        side["median_cpu_pct"] = statistics.median(e["cpu_pct"] for e in side["epochs"])
        side["median_batches_s"] = statistics.median(e["batches_s"] for e in side["epochs"])
    cached_runner.untuned, cached_runner.build_before_fit = untuned, build_before_fit
    before, now = results["before"], results["now"]
    speedup = round(before["median_epoch_s"] / now["median_epoch_s"], 3)
    # The kernels' share alone: the training batches, without the epoch ends.
    batch_speedup = round(before["median_batches_s"] / now["median_batches_s"], 3)
    return c.emit(
        {
            "bench": "phase2_epoch",
            "train_samples": len(train[0]),
            "image_size": args.image_size,
            "batch_size": args.batch_size,
            "epochs": list(args.epochs),
            "sides": results,
            "speedup": speedup,
            "batch_speedup": batch_speedup,
            "target": "phase 2 >= 180% CPU and its epoch >= 1.3x faster (issue #11)",
            "passed": bool(speedup >= 1.3 and now["median_cpu_pct"] >= 180),
        },
        args,
    )


if __name__ == "__main__":
    main()
