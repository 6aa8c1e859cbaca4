"""Head-phase search: kerasft (`kft.tune`, feature cache on) vs plain KerasTuner.

Both search the same head hyperparameters (lr, dropout, hidden units) for the same number of
trials on the same Fashion-MNIST subset, with a frozen backbone and only the head training.
Plain KerasTuner runs the frozen backbone on every batch of every epoch of every trial;
kerasft computes its features once and trains the head on them. Prints one JSON line.
Target: >= 10x faster, same best objective within noise: the two best validation
accuracies differ by at most two standard errors of their difference (binomial, on the
validation set's size).

Each trial also has costs that do not shrink with the data and that both sides pay: building
the model (ImageNet weights loaded), tracing its training step, KerasTuner's best-epoch
checkpoint (about 3 s a trial on 2 CPU cores). They bound the speed-up on small data: with
2,000 images it is about 6x, with 5,000 above 10x.

    python bench/tune_cache.py [--trials 20] [--train-samples 5000]
"""

from __future__ import annotations

import math
import tempfile
import time

import _common as c
import numpy as np


def data(samples: int, val_samples: int, seed: int = 0):
    from kerasft.data.keras_datasets import load_arrays

    (x, y), _, _ = load_arrays("fashion_mnist")
    idx = np.random.default_rng(seed).permutation(len(y))[: samples + val_samples]
    x = np.repeat(x[idx][..., None], 3, axis=-1)  # RGB for both sides
    y = y[idx]
    return (x[:samples], y[:samples]), (x[samples:], y[samples:])


def run_kerasft(train, val, args) -> tuple[float, float]:
    from kerasft.tuning import SearchSpace, tune

    space = SearchSpace(
        {"lr": {"min": 1e-4, "max": 1e-2}, "dropout": [0.0, 0.2, 0.4], "hidden_units": [0, 128]},
        only=["lr", "dropout", "hidden_units"],
    )
    base = {
        "backbone": args.backbone,
        "weights": args.weights,
        "image_size": args.image_size,
        "epochs": [args.epochs, 0],
        "batch_size": args.batch_size,
        "label_smoothing": 0.0,
        "seed": args.seed,
    }
    start = time.perf_counter()
    result = tune(
        train,
        val,
        space=space,
        base=base,
        tuner="random",
        max_trials=args.trials,
        cache="auto",
        directory=tempfile.mkdtemp(),
        overwrite=True,
        export=False,
    )
    return time.perf_counter() - start, result.best["objective"]


def run_keras_tuner(train, val, args) -> tuple[float, float]:
    import keras
    import keras_tuner as kt

    from kerasft.backbones import registry

    spec = registry.get(args.backbone)

    def build(hp):
        lr = hp.Float("lr", 1e-4, 1e-2, sampling="log")
        dropout = hp.Choice("dropout", [0.0, 0.2, 0.4])
        units = hp.Choice("hidden_units", [0, 128])
        net = spec.create(args.image_size, weights=args.weights)
        net.trainable = False
        inputs = keras.Input(train[0].shape[1:])
        x = keras.layers.Resizing(args.image_size, args.image_size)(inputs)
        for layer in spec.preprocessing.layers():
            x = layer(x)
        x = net(x, training=False)  # the frozen backbone runs on every batch, every epoch
        x = keras.layers.GlobalAveragePooling2D()(x)
        x = keras.layers.Dropout(dropout)(x)
        if units:
            x = keras.layers.Dense(units, activation="relu")(x)
        outputs = keras.layers.Dense(10, activation="softmax")(x)
        model = keras.Model(inputs, outputs)
        model.compile(
            keras.optimizers.Adam(lr), "sparse_categorical_crossentropy", metrics=["accuracy"]
        )
        return model

    tuner = kt.RandomSearch(
        build,
        objective="val_accuracy",
        max_trials=args.trials,
        seed=args.seed,
        directory=tempfile.mkdtemp(),
        overwrite=True,
    )
    start = time.perf_counter()
    tuner.search(
        *train, validation_data=val, epochs=args.epochs, batch_size=args.batch_size, verbose=0
    )
    best = tuner.oracle.get_best_trials(1)[0].score
    return time.perf_counter() - start, float(best)


def within_noise(a: float, b: float, n: int) -> tuple[bool, float]:
    """Whether accuracies `a` and `b` on `n` validation images differ by at most two standard
    errors of their difference; returns (verdict, that bound)."""
    p = (a + b) / 2
    bound = 2 * math.sqrt(2 * p * (1 - p) / n)
    return abs(a - b) <= bound, bound


def main() -> dict:
    parser = c.parser(
        __doc__.splitlines()[0], train_samples=5000, val_samples=1250, image_size=96, batch_size=64
    )
    parser.add_argument("--samples", type=int, dest="train_samples", help="= --train-samples")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=3, help="head epochs per trial")
    parser.add_argument("--backbone", default="mobilenet")
    args = parser.parse_args()
    args.weights = c.weights(args)
    if args.weights == "imagenet" and args.backbone == "mobilenet":
        from kerasft.weights import import_mobilenet_imagenet

        import_mobilenet_imagenet(verbose=False)  # local files only
    train, val = data(args.train_samples, args.val_samples, args.seed)
    kerasft_s, kerasft_best = run_kerasft(train, val, args)
    plain_s, plain_best = run_keras_tuner(train, val, args)
    same, noise = within_noise(kerasft_best, plain_best, len(val[0]))
    ratio = plain_s / kerasft_s
    return c.emit(
        {
            "bench": "tune_cache",
            "kerasft_s": kerasft_s,
            "keras_s": plain_s,
            "ratio": ratio,
            "kerasft_s_per_trial": kerasft_s / args.trials,
            "keras_tuner_s_per_trial": plain_s / args.trials,
            "kerasft_best_val_accuracy": kerasft_best,
            "keras_tuner_best_val_accuracy": plain_best,
            "best_within_noise": same,
            "noise_bound": noise,
            "target": ">= 10x faster, same best objective within noise",
            "passed": ratio >= 10 and same,
            "trials": args.trials,
            "samples": args.train_samples,
            "val_samples": len(val[0]),
            "epochs": args.epochs,
            "backbone": args.backbone,
            "image_size": args.image_size,
        },
        args,
    )


if __name__ == "__main__":
    main()
