"""The README's quick start, run as written: its test accuracy and wall time, against the
Keras guide's recipe given the same training time.

    python bench/quick_start.py                        # the snippet as it is in README.md
    python bench/quick_start.py --train-samples 2000 --epochs 1 1 --weights none  # smoke

kerasft's side executes the README's Quick start code block itself (read from README.md, so
the figure is the snippet's): load Fashion-MNIST, `kft.build`, `kft.fine_tune` with its
defaults (but the epochs it passes), `model.save`. The timer runs from before the snippet starts to the end of
`model.save`. The flags only shrink the run (a subset of the 60,000 training images, other
epochs or input size, random weights). The baseline then runs the guide's recipe
(`bench/_common.guide_fine_tune`) on the same training images at the same input size for as
long, and both are scored on the 10,000 test images. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import time
from pathlib import Path

import _common as c

README = Path(__file__).resolve().parents[1] / "README.md"
START_OF_SNIPPET = "import kerasft as kft\n\n(x_train,"


def snippet() -> str:
    """The README's quick-start Python block."""
    for code in re.findall(r"```python\n(.*?)```", README.read_text(), re.S):
        if code.startswith(START_OF_SNIPPET):
            return code
    raise SystemExit(f"README.md has no Python block starting {START_OF_SNIPPET!r}")


def shrink(code: str, args) -> str:
    """The snippet with this run's overrides; the snippet itself when none is given."""
    call, run_dir = "kft.fine_tune(model, (x_train, y_train)", 'run_dir="runs/quickstart"'
    for part in (call, run_dir):
        if part not in code:
            raise SystemExit(f"the README's quick start no longer contains {part!r}")
    if args.train_samples:
        n = args.train_samples
        code = code.replace(call, f"kft.fine_tune(model, (x_train[:{n}], y_train[:{n}])")
    if args.image_size:
        code = re.sub(r"image_size=\d+", f"image_size={args.image_size}", code)
    if args.epochs:
        epochs = f"epochs={tuple(args.epochs)}"
        if re.search(r"epochs=\(\d+, \d+\)", code):
            code = re.sub(r"epochs=\(\d+, \d+\)", epochs, code)
        else:
            code = code.replace(run_dir, f"{epochs}, {run_dir}")
    if c.weights(args) is None:
        code = code.replace('kft.build("mobilenet",', 'kft.build("mobilenet", weights=None,')
    return code


def main() -> dict:
    p = c.add_record_flag(argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    p.add_argument("--train-samples", type=int, default=None, help="default: all 60,000")
    p.add_argument("--image-size", type=int, default=None, help="default: the snippet's")
    p.add_argument("--epochs", type=int, nargs=2, default=None, help="default: the snippet's")
    p.add_argument("--weights", default="imagenet", help="'imagenet' or 'none' (smoke runs)")
    p.add_argument("--batch-size", type=int, default=128, help="the baseline's batch size")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--verbose", type=int, default=0)
    p.add_argument("--baseline", choices=("on", "off"), default="on")
    args = p.parse_args()
    code = shrink(snippet(), args)
    work = tempfile.mkdtemp(prefix="kft-quick-start-")
    os.chdir(work)  # the snippet writes runs/quickstart and fashion.keras here
    os.environ.setdefault("KERASFT_CACHE", os.path.join(work, "cache"))  # a cold cache

    start = time.perf_counter()
    namespace: dict = {}
    exec(compile(code, "README.md quick start", "exec"), namespace)
    wall = time.perf_counter() - start

    import keras

    image_size = int(re.search(r"image_size=(\d+)", code).group(1))
    x_test, y_test = namespace["x_test"], namespace["y_test"]
    model = keras.models.load_model(os.path.join(work, "fashion.keras"))  # what users keep
    test_acc = c.test_accuracy(model, (x_test, y_test))
    history = namespace["history"]
    result = {
        "bench": "quick_start",
        "kerasft_s": round(wall, 1),
        "test_accuracy": round(test_acc, 4),
        "phase_s": [round(t, 1) for t in history.phase_wall_times],
        "runner": history.runner_report,
        "image_size": image_size,
        "epochs": len(history.epoch),
        "target": ">= 92% test accuracy in < 480 s on 2 cores",
        "passed": bool(test_acc >= 0.92 and wall < 480),
    }
    x_train, y_train = namespace["x_train"], namespace["y_train"]
    if args.train_samples:
        x_train, y_train = x_train[: args.train_samples], y_train[: args.train_samples]
    result["train_samples"] = len(x_train)
    if args.baseline == "on":
        keras.utils.set_random_seed(args.seed)
        watch = c.Stopwatch()
        # The guide logs a validation score each epoch; it plays no part in when it stops.
        guide = c.guide_fine_tune(
            (x_train, y_train),
            (x_test[:1000], y_test[:1000]),
            args,
            image_size=image_size,
            callback=c.race_callback(watch, budget_s=wall),
            watch=watch,
            max_epochs=10_000,
            budget_s=wall,
        )
        keras_acc = c.test_accuracy(guide, (x_test, y_test))
        result.update(
            keras_s=round(watch.now(), 1),
            keras_test_accuracy=round(keras_acc, 4),
            acc_diff_pt=round(100 * (test_acc - keras_acc), 2),
            ratio=round((1 - keras_acc) / max(1 - test_acc, 1e-9), 3),
        )
    return c.emit(result, args)


if __name__ == "__main__":
    main()
