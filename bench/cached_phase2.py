"""Where a phase-2 step of the default job goes on the cached runner, and what speeds it up.

    python bench/cached_phase2.py                   # 20,000 images, the default job's phase 2
    python bench/cached_phase2.py --train-samples 2000 --steps 10 --weights none   # smoke

The default job's phase 2 (ImageNet MobileNet at 64 px, the top 6 blocks unfrozen with
BatchNorm gamma/beta, Adam at 5e-4) on cached activations: the cache is built once, then
each variant of the input pipeline / train step runs `--steps` batches (after a warm-up)
and reports seconds per batch and CPU use (user + system over wall; 200% = both of 2 cores
busy), split into the input pipeline alone, the train step alone (one batch repeated, no
input work) and the two together as `fit` runs them (the variants' fits take turns over
`--rounds` rounds; the median round counts). The baseline is the pipeline the
cached runner used before this benchmark (`tf.numpy_function` gather and cast, one batch at
a time), measured in the same process. Prints one JSON line.
"""

from __future__ import annotations

import os
import resource
import statistics
import time

import _common as c


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(fn, steps: int) -> dict:
    """Seconds per batch and CPU % of `fn(steps)` (after it ran once for 3 warm-up batches)."""
    fn(3)
    wall, cpu = time.perf_counter(), cpu_seconds()
    fn(steps)
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    return {"s_per_batch": round(wall / steps, 4), "cpu_pct": round(100 * cpu / wall)}


def main() -> dict:
    p = c.parser(__doc__.splitlines()[0], train_samples=20_000, image_size=64, batch_size=128)
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--unfreeze-blocks", type=int, default=6)
    args = p.parse_args()

    import keras
    import numpy as np
    import tensorflow as tf

    import kerasft as kft
    from kerasft import compat
    from kerasft.backbones.blocks import block_map
    from kerasft.cache import FeatureCache, ModelCut
    from kerasft.cache.runner import feature_dataset
    from kerasft.cache.twins import with_fast_kernels

    train, _, _ = c.fashion_mnist(args)
    x, y = train
    keras.utils.set_random_seed(args.seed)
    model = kft.build(
        "mobilenet", 10, input_shape=(28, 28, 1), image_size=args.image_size,
        weights=c.weights(args), dropout=0.2,
    )  # fmt: skip
    kft.freeze(model)
    kft.unfreeze(model, args.unfreeze_blocks, train_bn=True)
    kft.compile(model, 5e-4)
    names = list(block_map(kft.get_backbone(model)))
    cut = ModelCut(model, after_block=names[len(names) - args.unfreeze_blocks - 1])
    start = time.perf_counter()
    rows = FeatureCache(cut, "memory", verbose=0).features(x[..., None])
    build_s = time.perf_counter() - start
    targets = c.one_hot(y)
    plain = cut.suffix
    fast = with_fast_kernels(plain)  # what the cached runner trains now
    arguments = compat.compile_arguments(model)
    arguments["optimizer"] = model.optimizer

    def pipelines():
        numpy_gather = feature_dataset(
            rows, targets, batch_size=args.batch_size, shuffle=True, seed=args.seed
        )
        yield "numpy_function gather (before)", numpy_gather, {}, plain
        yield "fast kernels (the runner now)", numpy_gather, {}, fast
        # The same rows gathered and cast inside the graph: no Python, no GIL, parallel.
        features, labels = tf.constant(rows.array()), tf.constant(targets)
        index = tf.data.Dataset.range(len(x)).shuffle(min(len(x), 20_000), seed=args.seed)
        in_graph = (
            index.batch(args.batch_size)
            .map(
                lambda i: (tf.cast(tf.gather(features, i), "float32"), tf.gather(labels, i)),
                num_parallel_calls=tf.data.AUTOTUNE,
            )
            .prefetch(tf.data.AUTOTUNE)
        )
        yield "in-graph gather", in_graph, {}, plain
        yield "in-graph gather, steps_per_execution=8", in_graph, {"steps_per_execution": 8}, plain

    def take(ds):
        def run(steps):
            for _ in ds.take(steps):
                pass

        return run

    first = next(iter(feature_dataset(rows, targets, batch_size=args.batch_size)))
    fixed = tf.data.Dataset.from_tensors(first).repeat()

    def fit_on(trains, ds):
        def run(steps):
            trains.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0)

        return run

    variants = []
    for name, ds, options, trains in pipelines():
        model_ = keras.Model(trains.inputs, trains.outputs)  # one compiled copy per variant
        model_.compile(**{**arguments, **options})
        variants.append((name, ds.repeat(), model_))
    results = {}
    for name, ds, trains in variants:
        results[name] = {
            "pipeline": measure(take(ds), args.steps),
            "train_step": measure(fit_on(trains, fixed), args.steps),
            "fit_rounds": [],
        }
    # The variants' fits take turns, round after round: this machine's speed drifts by more
    # than the effects measured, and alternating spreads the drift over all of them alike.
    for _ in range(args.rounds):
        for name, ds, trains in variants:
            results[name]["fit_rounds"].append(measure(fit_on(trains, ds), args.steps))
    for name in results:
        rounds = results[name]["fit_rounds"]
        results[name]["fit"] = {
            "s_per_batch": statistics.median(r["s_per_batch"] for r in rounds),
            "cpu_pct": statistics.median(r["cpu_pct"] for r in rounds),
        }
    base = results["numpy_function gather (before)"]["fit"]["s_per_batch"]
    best = min(results, key=lambda k: results[k]["fit"]["s_per_batch"])
    epoch_batches = int(np.ceil(len(x) / args.batch_size))
    return c.emit(
        {
            "bench": "cached_phase2",
            "train_samples": len(x),
            "image_size": args.image_size,
            "batch_size": args.batch_size,
            "feature_shape": list(cut.feature_shape),
            "cache_build_s": round(build_s, 1),
            "variants": results,
            "epoch_s_before": round(base * epoch_batches, 1),
            "fastest": best,
            "speedup": round(base / results[best]["fit"]["s_per_batch"], 3),
            "runner_speedup": round(
                base / results["fast kernels (the runner now)"]["fit"]["s_per_batch"], 3
            ),
            "threads": os.environ.get("TF_NUM_INTRAOP_THREADS", "default"),
        },
        args,
    )


if __name__ == "__main__":
    main()
