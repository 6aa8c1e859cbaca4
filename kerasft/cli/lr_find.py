"""`kerasft lr-find`: the learning-rate range test on a kerasft model and a Keras dataset.

kerasft lr-find --backbone mobilenet --data fashion_mnist --image-size 96 --samples 2048 --out runs/lr

Writes `lr_find.png` (loss against learning rate, suggestions marked) and `lr_find.json`
(suggestions and the curve) into `--out`, and prints the suggestions.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from kerasft.errors import KerasftError


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "lr-find",
        help="learning-rate range test: plot loss against learning rate, suggest a rate",
        description=(
            "Train briefly while raising the learning rate exponentially, record the loss, "
            "and suggest learning rates (steepest slope, valley, minimum/10). The model's "
            "weights are not kept."
        ),
    )
    parser.add_argument("--backbone", default="mobilenet", help="a registered backbone name")
    parser.add_argument(
        "--data",
        default="fashion_mnist",
        help="a Keras dataset: fashion_mnist, mnist, cifar10, cifar100",
    )
    parser.add_argument("--image-size", type=int, default=None, help="side the backbone sees")
    parser.add_argument("--samples", type=int, default=2048, help="training images to use")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--weights", default="imagenet", help="imagenet, none, or a weights file")
    parser.add_argument(
        "--optimizer", default="adam", help="adam, adamw, sgd, rmsprop, nadam, lion"
    )
    parser.add_argument(
        "--unfreeze", default="0", help="backbone blocks to unfreeze first (a number or 'all')"
    )
    parser.add_argument("--min-lr", type=float, default=1e-7)
    parser.add_argument("--max-lr", type=float, default=10.0)
    parser.add_argument("--steps", type=int, default=100, help="steps of the sweep")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="lr_find", help="output directory")
    parser.set_defaults(func=run)


def _check(args: argparse.Namespace) -> None:
    if args.samples < 1:
        raise KerasftError(f"--samples {args.samples}: give a positive number of images.")
    if args.batch_size < 1:
        raise KerasftError(f"--batch-size {args.batch_size}: give a positive batch size.")
    if args.steps < 2:
        raise KerasftError(f"--steps {args.steps}: the sweep needs at least 2 steps.")
    if not 0 < args.min_lr < args.max_lr:
        raise KerasftError(f"--min-lr {args.min_lr} / --max-lr {args.max_lr}: need 0 < min < max.")
    if args.image_size is not None and args.image_size < 1:
        raise KerasftError(f"--image-size {args.image_size}: give a positive size.")
    if args.unfreeze != "all" and not args.unfreeze.isdigit():
        raise KerasftError(f"--unfreeze {args.unfreeze!r}: give a number of blocks or 'all'.")


def run(args: argparse.Namespace) -> int:
    _check(args)
    import keras
    import numpy as np

    import kerasft as kft
    from kerasft.callbacks.lr_finder import find_lr
    from kerasft.data import keras_datasets

    if args.backbone not in kft.backbones.list():
        from kerasft.errors import unknown_name

        raise unknown_name("backbone", args.backbone, kft.backbones.list())
    (x, y), _, class_names = keras_datasets.load_arrays(args.data)
    rng = np.random.default_rng(args.seed)
    take = rng.permutation(len(x))[: args.samples]
    x, y = x[take], y[take]

    keras.utils.set_random_seed(args.seed)
    weights = None if args.weights.lower() == "none" else args.weights
    model = kft.build(
        args.backbone,
        num_classes=len(class_names),
        input_shape=x.shape[1:],
        image_size=args.image_size,
        weights=weights,
    )
    if args.unfreeze != "0":
        kft.unfreeze(model, blocks="all" if args.unfreeze == "all" else int(args.unfreeze))
    kft.compile(model, lr=args.min_lr, optimizer=args.optimizer)

    # kft.compile's multiclass loss takes one-hot targets (it smooths labels).
    targets = keras.utils.to_categorical(y, len(class_names))
    result = find_lr(
        model,
        x,
        targets,
        batch_size=args.batch_size,
        min_lr=args.min_lr,
        max_lr=args.max_lr,
        num_steps=args.steps,
        verbose=0,
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    png = result.plot(out / "lr_find.png")
    record = result.to_dict()
    record["settings"] = {
        k: getattr(args, k)
        for k in (
            "backbone",
            "data",
            "image_size",
            "samples",
            "batch_size",
            "weights",
            "optimizer",
            "unfreeze",
            "min_lr",
            "max_lr",
            "steps",
            "seed",
        )
    }
    (out / "lr_find.json").write_text(json.dumps(record, indent=2))
    print(
        f"lr-find: {len(result.lrs)} steps{' (stopped: loss diverged)' if result.stopped_early else ''}"
    )
    for name, lr in result.suggestions.items():
        print(f"  {name:<9} {lr:.3g}" if lr is not None else f"  {name:<9} -")
    print(f"wrote {png} and {out / 'lr_find.json'}")
    return 0
