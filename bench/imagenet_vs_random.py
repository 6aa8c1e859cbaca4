"""ImageNet init against random init at the same budget, on the main job's recipe.

Runs `kerasft fit`'s job twice in one process, identical but for `weights`, and prints one JSON
line with both test accuracies and wall times. Flags shrink the budget for a quicker check.

    python bench/imagenet_vs_random.py                      # the default job's full budget
    python bench/imagenet_vs_random.py --train-samples 5000 --epochs 1 1
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from kerasft import config
from kerasft.jobs import fit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-samples", type=int)
    parser.add_argument("--epochs", type=int, nargs=2)
    parser.add_argument("--image-size", type=int)
    args = parser.parse_args()
    overrides = {"verbose": 2}
    if args.train_samples:
        overrides["train_samples"] = args.train_samples
    if args.epochs:
        overrides["epochs"] = list(args.epochs)
    if args.image_size:
        overrides["image_size"] = args.image_size
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for weights in ("imagenet", None):
            name = weights or "random"
            start = time.perf_counter()
            run_dir = fit.run(
                config.resolve(overrides, {"weights": weights, "run_dir": f"{tmp}/{name}"})
            )
            metrics = json.loads((Path(run_dir) / "metrics.json").read_text())
            results[name] = {
                "test_accuracy": metrics["test_accuracy"],
                "wall_s": round(time.perf_counter() - start, 1),
            }
    resolved = config.resolve(overrides)
    print(
        json.dumps(
            {
                "bench": "imagenet_vs_random",
                "train_samples": resolved["train_samples"],
                "epochs": resolved["epochs"],
                "image_size": resolved["image_size"],
                **{f"{k}_{m}": v[m] for k, v in results.items() for m in v},
                "accuracy_gain_pt": round(
                    100
                    * (results["imagenet"]["test_accuracy"] - results["random"]["test_accuracy"]),
                    2,
                ),
            }
        )
    )


if __name__ == "__main__":
    main()
