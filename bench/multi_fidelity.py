"""Multi-fidelity search vs a random search of the same wall-time budget, over several seeds.

Multi-fidelity (`kft.tune(..., promote=k)`) screens `--screen` configurations with the cheap
head phase on cached features, then runs the full two-phase recipe for the `--promote` best.
The random search runs the full recipe for every configuration it draws, trial after trial,
and stops before a trial that would take it past the multi-fidelity search's wall time
(judged by its mean trial time so far), so it never gets more time. Both start from an empty
feature cache (a fresh cache folder, memory cleared), draw from the same space with the same
seed on the same Fashion-MNIST split with ImageNet MobileNet, and the best configuration of
each is scored on the test set. This repeats for `--repeats` search seeds; the JSON line has
every repeat and the mean and spread of the test-accuracy difference.

    python bench/multi_fidelity.py [--screen 16] [--promote 3] [--train-samples 5000] [--repeats 3]
"""

from __future__ import annotations

import os
import statistics
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


def cold_cache() -> None:
    """An empty feature cache: a fresh folder, and nothing left in this process's memory."""
    from kerasft.cache import clear

    os.environ["KERASFT_CACHE"] = tempfile.mkdtemp(prefix="kft-bench-mf-cache-")
    clear()


def main() -> dict:
    p = c.parser(
        __doc__.splitlines()[0], train_samples=5000, val_samples=1000, image_size=64, batch_size=64
    )
    p.add_argument("--screen", type=int, default=16, help="configurations screened")
    p.add_argument("--promote", type=int, default=3, help="configurations fully trained")
    p.add_argument("--epochs", type=int, nargs=2, default=[3, 2], help="head, fine-tune epochs")
    p.add_argument("--repeats", type=int, default=3, help="search seeds: seed, seed+1, ...")
    args = p.parse_args()

    import keras

    import kerasft as kft

    train, val, test = c.fashion_mnist(args)
    space = kft.SearchSpace(SPACE, only=list(SPACE))

    def test_accuracy(result) -> float:
        model = keras.models.load_model(result.best_model_path)
        x, y = test
        probs = model.predict(x, batch_size=256, verbose=0)
        return float((probs.argmax(-1) == y).mean())

    repeats = []
    for seed in range(args.seed, args.seed + args.repeats):
        base = {
            "backbone": "mobilenet",
            "weights": c.weights(args),
            "image_size": args.image_size,
            "epochs": list(args.epochs),
            "batch_size": args.batch_size,
            "seed": seed,
            "train_bn": True,
        }
        common = dict(space=space, base=base, tuner="random", cache="auto", verbose=0)
        directory = tempfile.mkdtemp(prefix="kft-bench-mf-")

        cold_cache()
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
        budget = mf_clock.seconds

        # One more full trial at a time (a re-run of the same call resumes, finished trials
        # are kept), while the next one is expected to end within the budget.
        cold_cache()
        trials, start = 0, time.perf_counter()
        random = dict(directory=directory, project_name="random", **common)
        while True:
            elapsed = time.perf_counter() - start
            if trials and elapsed + elapsed / trials > budget:
                break
            trials += 1
            kft.tune(train, val, max_trials=trials, export=False, **random)
        random_s = time.perf_counter() - start
        rs = kft.tune(train, val, max_trials=trials, **random)  # no new trial: exports the best

        mf_test, rs_test = test_accuracy(mf), test_accuracy(rs)
        repeats.append(
            {
                "seed": seed,
                "multi_fidelity_s": budget,
                "random_s": random_s,
                "random_trials": trials,
                "multi_fidelity_best_val": mf.best["objective"],
                "random_best_val": rs.best["objective"],
                "multi_fidelity_test_acc": mf_test,
                "random_test_acc": rs_test,
                "test_acc_diff_pt": 100 * (mf_test - rs_test),
            }
        )

    diffs = [r["test_acc_diff_pt"] for r in repeats]
    val_diffs = [100 * (r["multi_fidelity_best_val"] - r["random_best_val"]) for r in repeats]
    sd = statistics.stdev if len(diffs) > 1 else (lambda _: 0.0)
    return c.emit(
        {
            "bench": "multi_fidelity",
            "kerasft_s": statistics.mean(r["multi_fidelity_s"] for r in repeats),
            "keras_s": statistics.mean(r["random_s"] for r in repeats),
            "screened": args.screen,
            "promoted": args.promote,
            "repeats": repeats,
            "multi_fidelity_test_acc_mean": statistics.mean(
                r["multi_fidelity_test_acc"] for r in repeats
            ),
            "random_test_acc_mean": statistics.mean(r["random_test_acc"] for r in repeats),
            "test_acc_diff_pt_mean": statistics.mean(diffs),
            "test_acc_diff_pt_sd": sd(diffs),
            "val_diff_pt_mean": statistics.mean(val_diffs),
            "val_diff_pt_sd": sd(val_diffs),
            "random_trials_mean": statistics.mean(r["random_trials"] for r in repeats),
            "train_samples": len(train[0]),
            "test_samples": len(test[0]),
            "image_size": args.image_size,
            "epochs": list(args.epochs),
        },
        args,
    )


if __name__ == "__main__":
    main()
