"""Multi-fidelity search vs a random search of the same wall-time budget.

Multi-fidelity (`kft.tune(..., promote=k)`) screens `--screen` configurations with the cheap
head phase on cached features, then runs the full two-phase recipe for the `--promote` best.
The random search runs the full recipe for every configuration it draws, trial after trial,
until it has used the same wall time. Both draw from the same space with the same seed on the
same Fashion-MNIST split with ImageNet MobileNet; the best configuration of each is then scored
on the test set. Prints one JSON line.

    python bench/multi_fidelity.py [--screen 16] [--promote 3] [--train-samples 5000]
"""

from __future__ import annotations

import tempfile
import time

import _common as c

SPACE = {
    "lr": {"min": 3e-4, "max": 1e-2, "sampling": "log"},
    "ft_lr": {"min": 1e-5, "max": 2e-3, "sampling": "log"},
    "dropout": {"min": 0.0, "max": 0.5, "step": 0.1},
    "hidden_units": [0, 256],
    "label_smoothing": [0.0, 0.1],
    "unfreeze_blocks": {"min": 1, "max": 6},
}


def main() -> dict:
    p = c.parser(
        __doc__.splitlines()[0], train_samples=5000, val_samples=1000, image_size=64, batch_size=64
    )
    p.add_argument("--screen", type=int, default=16, help="configurations screened")
    p.add_argument("--promote", type=int, default=3, help="configurations fully trained")
    p.add_argument("--epochs", type=int, nargs=2, default=[3, 2], help="head, fine-tune epochs")
    args = p.parse_args()

    import keras

    import kerasft as kft

    train, val, test = c.fashion_mnist(args)
    base = {
        "backbone": "mobilenet",
        "weights": c.weights(args),
        "image_size": args.image_size,
        "epochs": list(args.epochs),
        "batch_size": args.batch_size,
        "seed": args.seed,
        "train_bn": True,
    }
    space = kft.SearchSpace(SPACE, only=list(SPACE))
    common = dict(space=space, base=base, tuner="random", cache="auto", verbose=0)

    def test_accuracy(result) -> float:
        model = keras.models.load_model(result.best_model_path)
        x, y = test
        probs = model.predict(x, batch_size=256, verbose=0)
        return float((probs.argmax(-1) == y).mean())

    directory = tempfile.mkdtemp(prefix="kft-bench-mf-")
    with c.Clock() as mf_clock:
        mf = kft.tune(
            train,
            val,
            max_trials=args.screen,
            promote=args.promote,
            directory=directory,
            project_name="multi_fidelity",
            **common,
        )

    # The same budget for plain random search: one more full trial at a time (a re-run of
    # the same command resumes, finished trials are kept) until the time is used up.
    trials, start = 0, time.perf_counter()
    random = dict(directory=directory, project_name="random", **common)
    while time.perf_counter() - start < mf_clock.seconds:
        trials += 1
        kft.tune(train, val, max_trials=trials, export=False, **random)
    random_s = time.perf_counter() - start
    rs = kft.tune(train, val, max_trials=trials, **random)  # no new trial: exports the best

    mf_test, rs_test = test_accuracy(mf), test_accuracy(rs)
    return c.emit(
        {
            "bench": "multi_fidelity",
            "multi_fidelity_s": mf_clock.seconds,
            "random_s": random_s,
            "screened": args.screen,
            "promoted": args.promote,
            "random_trials": trials,
            "multi_fidelity_best_val": mf.best["objective"],
            "random_best_val": rs.best["objective"],
            "multi_fidelity_test_acc": mf_test,
            "random_test_acc": rs_test,
            "test_acc_diff_pt": 100 * (mf_test - rs_test),
            "multi_fidelity_best": {k: mf.best_config[k] for k in ("lr", "ft_lr", "dropout")},
            "random_best": {k: rs.best_config[k] for k in ("lr", "ft_lr", "dropout")},
            "train_samples": len(train[0]),
            "test_samples": len(test[0]),
            "image_size": args.image_size,
            "epochs": list(args.epochs),
        }
    )


if __name__ == "__main__":
    main()
