"""Benchmark 2: whole-backbone fine-tuning step throughput, kerasft vs plain Keras.

Both models are MobileNet with every layer trainable, fed the same batches through `fit`;
nothing can be cached, so this measures kerasft's overhead (its input layers, compile
defaults, callbacks). The sides alternate round by round (A B C A B C ...) so that load from
other processes hits all alike. Each round gives a paired ratio (kerasft's rate over the
plain rate of the same round); the result is the median of those ratios with their spread
(min, max, interquartile range), and `spread_exceeds_effect` says when the ratios scatter
more than the median differs from 1, i.e. when the run cannot tell the two apart.
Target: median kerasft / plain >= 0.97 images/s. "same_work" trains BatchNorm in both (the
guide's `base_model.trainable = True`); "default" is kerasft's default, BatchNorm frozen.

    python bench/ft_step.py [--train-samples 1024] [--rounds 7] [--image-size 96]
"""

from __future__ import annotations

import statistics

import _common as c


def spread(values: list[float]) -> dict:
    """Median, min, max and interquartile range of `values`."""
    q = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "iqr": q[2] - q[0],
    }


def main() -> dict:
    p = c.parser(__doc__.splitlines()[0], train_samples=1024, image_size=96, batch_size=64)
    p.add_argument("--rounds", type=int, default=7)
    args = p.parse_args()
    args.val_samples = 0

    import keras

    import kerasft as kft

    (x, y), _, _ = c.fashion_mnist(args)
    x4, t = x[..., None], c.one_hot(y)

    keras.utils.set_random_seed(args.seed)
    plain, base = c.guide_model(args.image_size, c.weights(args))
    base.trainable = True
    c.guide_compile(plain, 1e-5)

    def ours_model(train_bn: bool):
        model = kft.build(
            "mobilenet",
            10,
            input_shape=(28, 28, 1),
            image_size=args.image_size,
            weights=c.weights(args),
            dropout=0.2,
        )
        kft.unfreeze(model, "all", train_bn=train_bn)
        kft.compile(model, 1e-5)
        return model

    sides = {
        "keras": plain,
        "kerasft_same_work": ours_model(True),
        "kerasft_default": ours_model(False),
    }
    for model in sides.values():  # trace and warm up outside the clock
        model.fit(
            x4[: 2 * args.batch_size],
            t[: 2 * args.batch_size],
            batch_size=args.batch_size,
            epochs=1,
            verbose=0,
        )
    rates = {name: [] for name in sides}
    for _ in range(args.rounds):
        for name, model in sides.items():
            with c.Clock() as clock:
                model.fit(x4, t, batch_size=args.batch_size, epochs=1, verbose=args.verbose)
            rates[name].append(len(x) / clock.seconds)
    median = {name: statistics.median(r) for name, r in rates.items()}
    paired = {
        name: [ours / plain for ours, plain in zip(rates[name], rates["keras"])]
        for name in ("kerasft_same_work", "kerasft_default")
    }
    same, default = spread(paired["kerasft_same_work"]), spread(paired["kerasft_default"])
    ratio = same["median"]
    return c.emit(
        {
            "bench": "ft_step",
            "kerasft_img_s": median["kerasft_same_work"],
            "keras_img_s": median["keras"],
            "ratio": ratio,
            "ratio_spread": same,
            "spread_exceeds_effect": same["max"] - same["min"] > 2 * abs(ratio - 1),
            "kerasft_default_img_s": median["kerasft_default"],
            "ratio_default": default["median"],
            "ratio_default_spread": default,
            "kerasft_s": len(x) / median["kerasft_same_work"],
            "keras_s": len(x) / median["keras"],
            "rounds": rates,
            "target": ">= 0.97 (median of paired rounds)",
            "passed": ratio >= 0.97,
            "train_samples": len(x),
            "image_size": args.image_size,
            "batch_size": args.batch_size,
        },
        args,
    )


if __name__ == "__main__":
    main()
