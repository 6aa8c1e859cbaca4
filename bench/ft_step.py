"""Benchmark 2: whole-backbone fine-tuning step throughput, kerasft vs plain Keras.

Both models are MobileNet with every layer trainable, fed the same batches through `fit`;
nothing can be cached, so this measures kerasft's overhead (its input layers, compile
defaults, callbacks). The sides alternate (A B A B ...) so that load from other processes
hits both alike; each side's best round counts. Target: kerasft / plain >= 0.97 images/s.
"same_work" trains BatchNorm in both (the guide's `base_model.trainable = True`);
"default" is kerasft's default, BatchNorm frozen.

    python bench/ft_step.py [--train-samples 2048] [--rounds 3] [--image-size 96]
"""

from __future__ import annotations

import _common as c


def main() -> dict:
    p = c.parser(__doc__.splitlines()[0], train_samples=2048, image_size=96, batch_size=64)
    p.add_argument("--rounds", type=int, default=3)
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
    best = {name: max(r) for name, r in rates.items()}
    ratio = best["kerasft_same_work"] / best["keras"]
    return c.emit(
        {
            "bench": "ft_step",
            "kerasft_img_s": best["kerasft_same_work"],
            "keras_img_s": best["keras"],
            "ratio": ratio,
            "kerasft_default_img_s": best["kerasft_default"],
            "ratio_default": best["kerasft_default"] / best["keras"],
            "kerasft_s": len(x) / best["kerasft_same_work"],
            "keras_s": len(x) / best["keras"],
            "rounds": rates,
            "target": ">= 0.97",
            "passed": ratio >= 0.97,
            "train_samples": len(x),
            "image_size": args.image_size,
            "batch_size": args.batch_size,
        }
    )


if __name__ == "__main__":
    main()
