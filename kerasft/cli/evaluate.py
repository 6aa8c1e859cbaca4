"""`kerasft evaluate RUN_DIR_OR_MODEL [--data DATA]`: write an evaluation report.

Without `--data` a run directory is scored on its own test split. `--data` takes what
`kerasft fit` takes: a Keras dataset (its test split), a class-folder tree (its `test/`
sub-tree, or every image), a CSV of paths and labels, or `tfds:NAME` (its test split).

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
        help="a Keras dataset (its test split), a class-folder tree (its test/ sub-tree, or all "
        "of it), a CSV of paths and labels or tfds:NAME; default: the run's own test split",
    )
    parser.add_argument("--out", help="output folder (default: RUN_DIR/evaluation)")
    parser.add_argument("--tta", action="store_true", help="test-time augmentation (flip, shifts)")
    parser.add_argument("--top-k", type=int, default=5, help="k of the top-k accuracy")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--limit", type=int, help="evaluate only the first N test images")
    parser.add_argument("--tensorboard", metavar="LOGDIR", help="also log the report there")
    parser.set_defaults(func=run)


def load_data(spec: str | None, loaded, batch_size: int, limit: int | None):
    """`(dataset, class_names, what)`: the data to evaluate `loaded.model` on.

    No `spec`: the run directory's own test split (the images its metrics.json was scored on).
    Else a Keras dataset's test split, a folder (its `test/` sub-tree, or all of it), a CSV or
    `tfds:NAME` (see `kerasft.jobs.datasets.held_out`).
    """
    import tensorflow as tf

    from kerasft.data.pipeline import untuned
    from kerasft.jobs import datasets

    model = loaded.model
    input_shape = tuple(model.inputs[0].shape)
    run_config = loaded.run_dir is not None and (loaded.run_dir / "config.yaml").exists()
    if spec is None and run_config:
        data, names = datasets.run_test_data(loaded.run_dir, batch_size)
        what = f"the test split of {loaded.run_dir}"
    else:
        spec = spec or model_file.data_spec(loaded.data)
        if not spec:
            raise KerasftError(
                "No --data given and the model records none; pass --data fashion_mnist, "
                "--data path/to/class_folders or --data labels.csv."
            )
        height, width = (input_shape[1], input_shape[2]) if len(input_shape) == 4 else (None, None)
        data, names = datasets.held_out(
            spec,
            image_size=(height, width) if height and width else None,
            batch_size=batch_size,
            class_names=loaded.class_names,
            clip_samples=input_shape[1] if len(input_shape) == 2 else None,
        )
        what = spec
    if isinstance(data, tuple):
        x, y = data
        data = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)
    if limit:
        data = data.unbatch().take(limit).batch(batch_size)
    data = untuned(
        data.map(lambda x, y: (fit_images(x, input_shape), y)).prefetch(tf.data.AUTOTUNE)
    )
    return data, names, what


def run(args) -> int:
    from kerasft.evaluation import evaluate

    if args.limit is not None and args.limit < 1:
        raise KerasftError(f"--limit {args.limit}: give a positive number of images.")
    loaded = model_file.load(args.model)
    model, run_dir = loaded.model, loaded.run_dir
    ds, names, spec = load_data(args.data, loaded, args.batch_size, args.limit)
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
    from kerasft.builder.audio import is_audio_model
    from kerasft.builder.text import is_text_model

    what = "texts" if is_text_model(model) else "clips" if is_audio_model(model) else "images"
    print(f"{report.task} on {report['num_samples']} {what} from {spec}: {headline}")
    print(f"report written to {out} ({', '.join(sorted(report.files))})")
    return 0
