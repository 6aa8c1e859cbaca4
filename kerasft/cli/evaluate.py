"""`kerasft evaluate RUN_DIR_OR_MODEL --data fashion_mnist|FOLDER`: write an evaluation report.

The report (report.json, report.md, confusion_matrix.png, top_losses.png and
top_losses_gradcam.png) goes to `--out`, by default `RUN_DIR/evaluation`.
"""

from __future__ import annotations

from pathlib import Path

from kerasft import model_file
from kerasft.data.model_input import fit_images
from kerasft.errors import KerasftError


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="evaluate a saved model: metrics, confusion matrix, top losses, Grad-CAM",
        description=__doc__,
    )
    parser.add_argument("model", metavar="RUN_DIR_OR_MODEL", help="a run directory or .keras file")
    parser.add_argument(
        "--data",
        help="a Keras dataset name (fashion_mnist, mnist, cifar10, cifar100; its test split) or "
        "an image folder with one sub-folder per class; default: the run's config.yaml data",
    )
    parser.add_argument("--out", help="output folder (default: RUN_DIR/evaluation)")
    parser.add_argument("--tta", action="store_true", help="test-time augmentation (flip, shifts)")
    parser.add_argument("--top-k", type=int, default=5, help="k of the top-k accuracy")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--limit", type=int, help="evaluate only the first N test images")
    parser.add_argument("--tensorboard", metavar="LOGDIR", help="also log the report there")
    parser.set_defaults(func=run)


def load_data(spec: str, model, batch_size: int, limit: int | None):
    """`(dataset, class_names)`: a Keras dataset's test split or a class-folder of images."""
    import tensorflow as tf

    input_shape = tuple(model.inputs[0].shape)
    folder = Path(spec)
    if folder.is_dir():
        from kerasft.data import from_folder

        height, width = (input_shape[1], input_shape[2]) if len(input_shape) == 4 else (None, None)
        size = (height, width) if height and width else None
        data = from_folder(folder, image_size=size, batch_size=batch_size, shuffle=False)
        ds, names = data.train, list(data.info.class_names)
        if limit:
            ds = ds.unbatch().take(limit).batch(batch_size)
    elif "/" in spec or spec.startswith("."):
        raise KerasftError(f"--data {spec}: no such folder (a class-folder tree was expected).")
    else:
        from kerasft.data.keras_datasets import load_arrays

        _, (x, y), names = load_arrays(spec)
        if limit:
            x, y = x[:limit], y[:limit]
        ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)
    ds = ds.map(lambda x, y: (fit_images(x, input_shape), y)).prefetch(tf.data.AUTOTUNE)
    return ds, names


def run(args) -> int:
    from kerasft.evaluation import evaluate

    if args.limit is not None and args.limit < 1:
        raise KerasftError(f"--limit {args.limit}: give a positive number of images.")
    loaded = model_file.load(args.model)
    model, run_dir = loaded.model, loaded.run_dir
    spec = args.data or loaded.data
    if not spec:
        raise KerasftError(
            "No --data given and the run directory names none; pass --data fashion_mnist or "
            "--data path/to/class_folders."
        )
    ds, names = load_data(spec, model, args.batch_size, args.limit)
    units = model.outputs[0].shape[-1]
    if len(names) != (2 if units == 1 else units):
        raise KerasftError(
            f"The data {spec!r} has {len(names)} classes but the model has {units} outputs; "
            "evaluate on the data the model was trained for."
        )
    if args.out:
        out = Path(args.out)
    elif run_dir is not None:
        out = run_dir / "evaluation"
    else:
        out = loaded.path.with_name(loaded.path.stem + "_evaluation")
    report = evaluate(
        model,
        ds,
        class_names=names,
        out_dir=out,
        top_k=args.top_k,
        tta=args.tta,
        tensorboard_dir=args.tensorboard,
    )
    headline = ", ".join(f"{k}={v:.4f}" for k, v in report.scalars().items())
    print(f"{report.task} on {report['num_samples']} images from {spec}: {headline}")
    print(f"report written to {out} ({', '.join(sorted(report.files))})")
    return 0
