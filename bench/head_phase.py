"""Benchmark 1: train the head for 10 epochs: kerasft's feature cache vs a frozen backbone.

Plain Keras (the guide's recipe) calls the frozen MobileNet on every image every epoch;
kerasft runs it once (the cache build, timed) and trains the head on the cached pooled
features. Target: >= 8x faster end to end, test accuracy within 0.5 point.

    python bench/head_phase.py [--train-samples 10000] [--epochs 10] [--image-size 96]
"""

from __future__ import annotations

import tempfile

import _common as c


def main() -> dict:
    p = c.parser(__doc__.splitlines()[0], train_samples=10_000, image_size=96, batch_size=64)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--lr", type=float, default=1e-3)
    args = p.parse_args()

    import keras
    import tensorflow as tf

    import kerasft as kft
    from kerasft.cache import CachedRunner

    train, val, test = c.fashion_mnist(args)
    (x, y), (xv, yv) = train, val

    def build_ours():
        keras.utils.set_random_seed(args.seed)
        return kft.build(
            "mobilenet",
            10,
            input_shape=(28, 28, 1),
            image_size=args.image_size,
            weights=c.weights(args),
            dropout=0.2,
        )

    # Same start, same batches: the baseline's head starts from kerasft's initial head
    # weights and reads the same seeded shuffle fine_tune uses, so any accuracy difference
    # is the cache's, not the luck of the draw.
    first = build_ours()
    initial_head = first.get_layer("kft_head_output").get_weights()
    # ...and drops the same units: its Dropout draws from kerasft's head Dropout's seed.
    dropout_seed = first.get_layer("kft_head_dropout").seed_generator.state.numpy()
    batches = tf.data.Dataset.from_tensor_slices((x[..., None], c.one_hot(y)))
    batches = batches.shuffle(
        min(len(x), 20_000), seed=args.seed, reshuffle_each_iteration=True
    ).batch(args.batch_size)
    keras.utils.set_random_seed(args.seed)
    with c.Clock() as plain:
        model, _ = c.guide_model(args.image_size, c.weights(args))
        model.layers[-1].set_weights(initial_head)
        model.layers[-2].seed_generator.state.assign(dropout_seed)
        c.guide_compile(model, args.lr)
        model.fit(
            batches.prefetch(tf.data.AUTOTUNE),
            epochs=args.epochs,
            shuffle=False,
            validation_data=(xv[..., None], c.one_hot(yv)),
            verbose=args.verbose,
        )
    plain_acc = c.test_accuracy(model, test)

    with c.Clock() as ours:
        model = build_ours()
        runner = CachedRunner(
            "auto",
            cache_dir=tempfile.mkdtemp(prefix="kft-bench-"),
            verbose=args.verbose,
        )
        kft.fine_tune(
            model,
            train,
            val,
            epochs=(args.epochs, 0),
            lr=args.lr,
            batch_size=args.batch_size,
            seed=args.seed,
            verbose=args.verbose,
            cache=runner,
        )
    ours_acc = c.test_accuracy(model, test)

    speedup = plain.seconds / ours.seconds
    diff = 100 * (ours_acc - plain_acc)
    return c.emit(
        {
            "bench": "head_phase",
            "kerasft_s": ours.seconds,
            "keras_s": plain.seconds,
            "ratio": speedup,
            "kerasft_acc": ours_acc,
            "keras_acc": plain_acc,
            "acc_diff_pt": diff,
            "target": ">= 8x faster, |acc diff| <= 0.5 pt",
            "passed": speedup >= 8 and abs(diff) <= 0.5,
            "kerasft_cpu_s": ours.cpu,
            "keras_cpu_s": plain.cpu,
            "epochs": args.epochs,
            "train_samples": len(x),
            "test_samples": len(test[0]),
            "image_size": args.image_size,
            "batch_size": args.batch_size,
        },
        args,
    )


if __name__ == "__main__":
    main()
