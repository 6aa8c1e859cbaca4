"""Benchmark 4: time to 90% test accuracy on Fashion-MNIST, kerasft's default recipe vs the
Keras guide's recipe.

kerasft runs the main job's recipe (`bench/main_job.py`: 64 px, cached phases, top blocks
unfrozen). Plain Keras runs the guide's recipe at 96 px: the head on a frozen backbone,
then the whole backbone unfrozen at a 1e-5 learning rate, epoch after epoch. Both train on
the same images with the same seed; the test set is evaluated at epoch ends (once the
validation accuracy reaches 88%, and at each phase's last epoch) with the clock paused. The
baseline stops at the target or when its clock passes `--cap-factor` times kerasft's time;
then the ratio is a lower bound ("keras_reached": false). Target: >= 3x faster.

    python bench/time_to_90.py [--train-samples 55000] [--cap-factor 3]
"""

from __future__ import annotations

import time

import _common as c
from main_job import RECIPE


class Stopwatch:
    """Training time so far: wall time since `start` minus the time spent evaluating."""

    def __init__(self):
        self.start = time.perf_counter()
        self.paused = 0.0

    def now(self) -> float:
        return time.perf_counter() - self.start - self.paused


def target_callback(watch: Stopwatch, test, target: float, cap: float | None, log: list):
    import keras

    class TimeToAccuracy(keras.callbacks.Callback):
        reached_at = None
        best = 0.0

        def _check(self, logs, last: bool):
            if self.reached_at is not None:
                return
            if (logs or {}).get("val_accuracy", 0.0) < 0.88 and not last:
                return
            now = watch.now()
            began = time.perf_counter()
            acc = c.test_accuracy(self.model, test)
            watch.paused += time.perf_counter() - began
            self.best = max(self.best, acc)
            log.append({"t": round(now, 1), "test_acc": round(acc, 4)})
            if acc >= target:
                self.reached_at = now
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            self._check(logs, last=epoch + 1 == self.params.get("epochs"))

        def on_train_batch_end(self, batch, logs=None):
            if self.reached_at is not None or (cap is not None and watch.now() > cap):
                self.model.stop_training = True

    return TimeToAccuracy()


def main() -> dict:
    p = c.parser(
        __doc__.splitlines()[0],
        train_samples=RECIPE["train_samples"],
        val_samples=RECIPE["val_samples"],
        image_size=RECIPE["image_size"],
        batch_size=RECIPE["batch_size"],
    )
    p.add_argument("--target", type=float, default=0.90)
    p.add_argument("--cap-factor", type=float, default=3.0)
    p.add_argument("--guide-image-size", type=int, default=96)
    p.add_argument("--guide-head-epochs", type=int, default=2)
    p.add_argument("--guide-max-epochs", type=int, default=50)
    args = p.parse_args()

    import tempfile

    import keras

    import kerasft as kft
    from kerasft.jobs.recipe import fine_tune_kwargs
    from kerasft.training.cached_phases import cached_phase_fns

    train, val, test = c.fashion_mnist(args)
    (x, y), (xv, yv) = train, val

    keras.utils.set_random_seed(args.seed)
    ours_log: list = []
    watch = Stopwatch()
    model = kft.build(
        RECIPE["backbone"],
        10,
        input_shape=(28, 28, 1),
        image_size=args.image_size,
        weights=c.weights(args),
        dropout=RECIPE["dropout"],
    )
    ours = target_callback(watch, test, args.target, None, ours_log)
    fns = cached_phase_fns(
        model,
        RECIPE["cache"],
        unfreeze_blocks=RECIPE["unfreeze_blocks"],
        train=train,
        val=val,
        batch_size=args.batch_size,
        seed=args.seed,
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
    kft.fine_tune(model, train, val, **recipe, verbose=args.verbose, phase_fns=fns)
    ours_time = ours.reached_at if ours.reached_at is not None else watch.now()

    keras.utils.set_random_seed(args.seed)
    plain_log: list = []
    watch = Stopwatch()
    cap = args.cap_factor * ours_time
    plain = target_callback(watch, test, args.target, cap, plain_log)
    model, base = c.guide_model(args.guide_image_size, c.weights(args))
    c.guide_compile(model, 1e-3)
    data = dict(
        x=x[..., None],
        y=c.one_hot(y),
        batch_size=args.batch_size,
        validation_data=(xv[..., None], c.one_hot(yv)),
        verbose=args.verbose,
    )
    model.fit(epochs=args.guide_head_epochs, callbacks=[plain], **data)
    if plain.reached_at is None and watch.now() < cap:
        base.trainable = True
        c.guide_compile(model, 1e-5)
        model.fit(
            epochs=args.guide_head_epochs + args.guide_max_epochs,
            initial_epoch=args.guide_head_epochs,
            callbacks=[plain],
            **data,
        )
    plain_reached = plain.reached_at is not None
    plain_time = plain.reached_at if plain_reached else watch.now()

    ratio = plain_time / ours_time
    return c.emit(
        {
            "bench": "time_to_90",
            "kerasft_s": ours_time,
            "keras_s": plain_time,
            "ratio": ratio,
            "ratio_is_lower_bound": not plain_reached,
            "kerasft_reached": ours.reached_at is not None,
            "keras_reached": plain_reached,
            "kerasft_acc": ours.best,
            "keras_acc": plain.best,
            "kerasft_checks": ours_log,
            "keras_checks": plain_log,
            "target": f">= 3x faster to {args.target:.0%} test accuracy",
            "passed": ours.reached_at is not None and ratio >= 3,
            "train_samples": len(x),
            "test_samples": len(test[0]),
            "image_size": args.image_size,
            "guide_image_size": args.guide_image_size,
        }
    )


if __name__ == "__main__":
    main()
