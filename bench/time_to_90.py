"""Benchmark 4: time to 90% validation accuracy on Fashion-MNIST, kerasft's default recipe vs
the Keras guide's recipe, both at the same input size.

kerasft runs the main job's recipe (`bench/main_job.py`: cached phases, top blocks
unfrozen, cosine in phase 2). Plain Keras runs the guide's recipe: the head on a frozen
backbone, then the whole backbone unfrozen at a 1e-5 learning rate, epoch after epoch. Both
train on the same images with the same seed at `--image-size` (the guide can be given its
own with `--guide-image-size`). The stopping signal is the validation accuracy at epoch
ends; the test accuracy is measured once, when the target is reached, with the clock
paused. The baseline runs until it reaches the target or its clock passes `--cap-factor`
times kerasft's time; then it is reported as "not reached within X s" and the ratio is a
lower bound. Target: >= 3x faster.

    python bench/time_to_90.py [--train-samples 55000] [--cap-factor 6]
"""

from __future__ import annotations

import tempfile

import _common as c
from main_job import RECIPE


def main() -> dict:
    p = c.parser(
        __doc__.splitlines()[0],
        train_samples=RECIPE["train_samples"],
        val_samples=RECIPE["val_samples"],
        image_size=RECIPE["image_size"],
        batch_size=RECIPE["batch_size"],
    )
    p.add_argument("--target", type=float, default=0.90, help="validation accuracy to reach")
    p.add_argument("--cap-factor", type=float, default=6.0)
    p.add_argument("--guide-image-size", type=int, default=None, help="default: --image-size")
    p.add_argument("--guide-head-epochs", type=int, default=2)
    p.add_argument("--guide-max-epochs", type=int, default=50)
    args = p.parse_args()
    guide_size = args.guide_image_size or args.image_size

    import keras

    import kerasft as kft
    from kerasft.cache import CachedRunner
    from kerasft.jobs.recipe import fine_tune_kwargs

    train, val, test = c.fashion_mnist(args)

    keras.utils.set_random_seed(args.seed)
    watch = c.Stopwatch()
    model = kft.build(
        RECIPE["backbone"],
        10,
        input_shape=(28, 28, 1),
        image_size=args.image_size,
        weights=c.weights(args),
        dropout=RECIPE["dropout"],
    )
    ours = c.race_callback(watch, target=args.target, test=test, full_model=model)
    runner = CachedRunner(
        RECIPE["cache"],
        cache_dir=tempfile.mkdtemp(prefix="kft-bench-"),
        dtype=RECIPE["cache_dtype"],
        verbose=args.verbose,
    )
    # `kerasft fit`'s default recipe; the cached phases are the ones above (a fresh cache
    # folder), so fine_tune makes none of its own.
    recipe = fine_tune_kwargs(
        {**RECIPE, "batch_size": args.batch_size, "seed": args.seed, "cache": "off"}
    )
    recipe["callbacks"].append(ours)
    kft.fine_tune(model, train, val, **{**recipe, "cache": runner}, verbose=args.verbose)
    ours_time = ours.reached_at if ours.reached_at is not None else watch.now()
    if ours.test_acc_at_target is None:
        ours.test_acc_at_target = c.test_accuracy(model, test)

    keras.utils.set_random_seed(args.seed)
    watch = c.Stopwatch()
    cap = args.cap_factor * ours_time
    plain = c.race_callback(watch, target=args.target, budget_s=cap, test=test)
    guide = c.guide_fine_tune(
        train,
        val,
        args,
        image_size=guide_size,
        callback=plain,
        watch=watch,
        head_epochs=args.guide_head_epochs,
        max_epochs=args.guide_max_epochs,
        budget_s=cap,
    )
    plain_reached = plain.reached_at is not None
    plain_time = plain.reached_at if plain_reached else watch.now()
    if plain.test_acc_at_target is None:
        plain.test_acc_at_target = c.test_accuracy(guide, test)

    ratio = plain_time / ours_time
    best_val = max((p["val_acc"] for p in plain.curve), default=None)
    return c.emit(
        {
            "bench": "time_to_90",
            "kerasft_s": ours_time,
            "keras_s": plain_time,
            "ratio": ratio,
            "ratio_is_lower_bound": not plain_reached,
            "kerasft_reached": ours.reached_at is not None,
            "keras_reached": plain_reached,
            "keras_not_reached_within_s": None if plain_reached else plain_time,
            "keras_best_val_acc": best_val,
            "kerasft_test_acc": ours.test_acc_at_target,
            "keras_test_acc": plain.test_acc_at_target,
            "kerasft_curve": ours.curve,
            "keras_curve": plain.curve,
            "target": f">= 3x faster to {args.target:.0%} validation accuracy",
            "passed": ours.reached_at is not None and ratio >= 3,
            "train_samples": len(train[0]),
            "val_samples": len(val[0]),
            "test_samples": len(test[0]),
            "image_size": args.image_size,
            "guide_image_size": guide_size,
            "cap_factor": args.cap_factor,
        },
        args,
    )


if __name__ == "__main__":
    main()
