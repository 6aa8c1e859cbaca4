"""Benchmark: a 3-model ensemble of ImageNet MobileNets against its best member on Fashion-MNIST.

Each member is `kft.build("mobilenet", weights="imagenet")` at 96 px, fine-tuned with
`kft.fine_tune` (with its feature cache, so frozen layers run once per image) on its own random
stratified subset of the training set (seed 0, 1, 2: bagging
makes the members differ in more than their head's initialization). All members are scored on
the same stratified test subset; the ensemble is `kft.ensemble(members)` (mean of
probabilities), checked on a slice of the test set to equal the mean of the members'
predictions, and scored from those predictions (running the ensemble model on the whole test
set would repeat every member's work). Prints one JSON line.

    python bench/ensemble.py                   # a few minutes on 2 CPU cores
    python bench/ensemble.py --train 600 --test 1000 --epochs 2 1   # quicker
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def stratified_subset(y, n, seed):
    """`n` indices of `y`, the same share of every class, drawn with `seed`."""
    import numpy as np

    rng = np.random.default_rng(seed)
    classes = np.unique(y)
    per_class = n // len(classes)
    picks = [rng.choice(np.flatnonzero(y == c), per_class, replace=False) for c in classes]
    return rng.permutation(np.concatenate(picks))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=3)
    parser.add_argument("--train", type=int, default=2000, help="training images per member")
    parser.add_argument("--val", type=int, default=500, help="validation images (shared)")
    parser.add_argument("--test", type=int, default=2000, help="test images")
    parser.add_argument("--image-size", type=int, default=96)
    parser.add_argument("--epochs", type=int, nargs=2, default=(4, 2), metavar=("HEAD", "FT"))
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument(
        "--cache", default="auto", help="fine_tune's feature cache: auto, memory, disk or off"
    )
    parser.add_argument("--out", help="write the ensemble's evaluation report here")
    args = parser.parse_args(argv)

    import keras
    import numpy as np

    import kerasft as kft
    from kerasft.data.keras_datasets import load_arrays
    from kerasft.ensembles import ensemble
    from kerasft.evaluation import evaluate, predict
    from kerasft.evaluation import metrics as M

    started = time.perf_counter()
    (x_all, y_all), (x_test_all, y_test_all), names = load_arrays("fashion_mnist")
    test_idx = stratified_subset(y_test_all, args.test, seed=1234)
    x_test, y_test = x_test_all[test_idx], y_test_all[test_idx]
    val_idx = stratified_subset(y_all, args.val, seed=4321)
    rest = np.setdiff1d(np.arange(len(y_all)), val_idx)
    x_val, y_val = x_all[val_idx], y_all[val_idx]

    members, member_probs, member_acc, walls = [], [], [], []
    for seed in range(args.members):
        t0 = time.perf_counter()
        keras.utils.set_random_seed(seed)
        idx = rest[stratified_subset(y_all[rest], args.train, seed=seed)]
        model = kft.build(
            "mobilenet",
            len(names),
            input_shape=x_all.shape[1:],
            image_size=args.image_size,
            weights="imagenet",
        )
        kft.fine_tune(
            model,
            (x_all[idx], y_all[idx]),
            (x_val, y_val),
            epochs=tuple(args.epochs),
            batch_size=args.batch_size,
            seed=seed,
            verbose=0,
            cache=args.cache,
        )
        probs = predict(model, x_test, batch_size=256)
        members.append(model)
        member_probs.append(probs)
        member_acc.append(float(np.mean(probs.argmax(1) == y_test)))
        walls.append(time.perf_counter() - t0)
        print(
            f"[bench ensemble] member {seed}: test accuracy {member_acc[-1]:.4f} "
            f"({walls[-1]:.0f} s)",
            file=sys.stderr,
            flush=True,
        )

    combined = ensemble(members, method="mean")
    # The ensemble model runs every member again; check it on a slice, then score it from the
    # members' test predictions (the same numbers) to keep the budget small.
    check = min(128, len(x_test))
    direct = predict(combined, x_test[:check], batch_size=check)
    mean_probs = np.mean(member_probs, axis=0)
    max_diff = float(np.abs(direct - mean_probs[:check]).max())
    if max_diff > 1e-4:
        raise AssertionError(f"kft.ensemble differs from the mean of its members by {max_diff}")
    ens = M.classification_metrics(y_test, mean_probs, "multiclass", class_names=names)
    vote_probs = np.mean([np.eye(len(names))[p.argmax(1)] for p in member_probs], axis=0)
    vote_acc = float(np.mean((vote_probs + 1e-3 * mean_probs).argmax(1) == y_test))
    best = int(np.argmax(member_acc))
    result = {
        "bench": "ensemble",
        "backbone": "mobilenet",
        "weights": "imagenet",
        "image_size": args.image_size,
        "members": args.members,
        "train_per_member": args.train,
        "val_samples": args.val,
        "test_samples": int(len(y_test)),
        "epochs": list(args.epochs),
        "cache": args.cache,
        "member_accuracy": [round(a, 4) for a in member_acc],
        "best_member_accuracy": round(member_acc[best], 4),
        "ensemble_accuracy": round(ens["accuracy"], 4),
        "vote_accuracy": round(vote_acc, 4),
        "ensemble_beats_best": bool(ens["accuracy"] > member_acc[best]),
        "passed": bool(ens["accuracy"] > member_acc[best]),
        "gain": round(ens["accuracy"] - member_acc[best], 4),
        "ensemble_ece": round(ens["ece"], 4),
        "best_member_ece": round(
            M.classification_metrics(y_test, member_probs[best], "multiclass")["ece"], 4
        ),
        "ensemble_check_max_abs_diff": max_diff,
        "member_wall_s": [round(w, 1) for w in walls],
        "wall_s": round(time.perf_counter() - started, 1),
        # Timings depend on what else the 2 cores were doing.
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    if args.out:
        evaluate(combined, (x_test, y_test), class_names=names, out_dir=args.out)
    print(json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    main()
