"""Benchmark 3: phase 2 with the top 2 blocks unfrozen: partial cache vs full forward pass.

Plain Keras runs the whole MobileNet forward every step although only its top two blocks
train; kerasft caches the activations at the input of block 12 once and runs only blocks
12-13 and the head. Target: >= 2x faster per phase-2 epoch (median epoch; the one-time
cache build is reported separately).

    python bench/partial_phase2.py [--train-samples 10000] [--epochs 3] [--image-size 96]
"""

from __future__ import annotations

import statistics
import tempfile
import time

import _common as c


def epoch_timer():
    import keras

    class EpochTimes(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times = {}

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.times[epoch] = time.perf_counter() - self._start

    return EpochTimes()


def unfreeze_top_blocks(base, blocks=(12, 13)):
    """The guide's way, by hand: the conv layers of MobileNet's top blocks train, BN stays
    frozen."""
    import re

    base.trainable = True
    pattern = re.compile(rf"^conv_(dw|pw)_({'|'.join(map(str, blocks))})$")
    for layer in base.layers:
        layer.trainable = bool(pattern.match(layer.name))


def main() -> dict:
    p = c.parser(__doc__.splitlines()[0], train_samples=10_000, image_size=96, batch_size=64)
    p.add_argument("--epochs", type=int, default=3, help="phase-2 epochs (after 1 head epoch)")
    args = p.parse_args()

    import keras

    import kerasft as kft
    from kerasft.cache import CachedRunner

    train, val, test = c.fashion_mnist(args)
    (x, y), (xv, yv) = train, val
    fit = dict(batch_size=args.batch_size, verbose=args.verbose)

    keras.utils.set_random_seed(args.seed)
    plain_times = epoch_timer()
    with c.Clock() as plain:
        model, base = c.guide_model(args.image_size, c.weights(args))
        c.guide_compile(model, 1e-3)
        model.fit(x[..., None], c.one_hot(y), epochs=1, **fit)
        unfreeze_top_blocks(base)
        c.guide_compile(model, 1e-4)
        with c.Clock() as plain2:
            model.fit(
                x[..., None],
                c.one_hot(y),
                epochs=1 + args.epochs,
                initial_epoch=1,
                validation_data=(xv[..., None], c.one_hot(yv)),
                callbacks=[plain_times],
                **fit,
            )
    trained = sorted(w.name for w in model.trainable_weights)
    plain_acc = c.test_accuracy(model, test)

    keras.utils.set_random_seed(args.seed)
    ours_times = epoch_timer()
    with c.Clock() as ours:
        model = kft.build(
            "mobilenet",
            10,
            input_shape=(28, 28, 1),
            image_size=args.image_size,
            weights=c.weights(args),
            dropout=0.2,
        )
        runner = CachedRunner(
            "auto",
            cache_dir=tempfile.mkdtemp(prefix="kft-bench-"),
            verbose=args.verbose,
        )
        history = kft.fine_tune(
            model,
            train,
            val,
            epochs=(1, args.epochs),
            lr=1e-3,
            ft_lr=1e-4,
            unfreeze_blocks=2,
            train_bn=False,  # the same weights train as the guide's unfrozen blocks
            ft_schedule=None,  # its constant rate, too
            seed=args.seed,
            callbacks=[ours_times],
            cache=runner,
            **fit,
        )
    ours_trained = sorted(w.name for w in model.trainable_weights)
    ours_acc = c.test_accuracy(model, test)

    plain_epoch = statistics.median(plain_times.times.values())
    ours_phase2 = {e: t for e, t in ours_times.times.items() if e >= 1}
    ours_epoch = statistics.median(ours_phase2.values())
    speedup = plain_epoch / ours_epoch
    return c.emit(
        {
            "bench": "partial_phase2",
            "kerasft_epoch_s": ours_epoch,
            "keras_epoch_s": plain_epoch,
            "ratio": speedup,
            "kerasft_s": ours.seconds,
            "keras_s": plain.seconds,
            "kerasft_phase2_s": history.phase_wall_times[-1],
            "keras_phase2_s": plain2.seconds,
            "kerasft_cache_build_s": history.phase_wall_times[0] - ours_times.times.get(0, 0.0),
            "kerasft_acc": ours_acc,
            "keras_acc": plain_acc,
            "same_trainable_weights": len(trained) == len(ours_trained),
            "target": ">= 2x faster per phase-2 epoch",
            "passed": speedup >= 2,
            "epochs": [1, args.epochs],
            "train_samples": len(x),
            "image_size": args.image_size,
            "batch_size": args.batch_size,
        },
        args,
    )


if __name__ == "__main__":
    main()
