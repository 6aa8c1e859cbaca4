"""`kerasft predict MODEL_OR_RUN_DIR PATH... [--out predictions.csv]`: classes of image files.

PATHs are image files or folders (searched recursively for .jpg, .jpeg, .png, .bmp and .gif).
Each image is resized to the model's input and gets one row: path, top1, p1, top2, p2, ...
The first rows are printed as a table; `--out` writes every row as CSV. Unreadable files never
stop the run: a warning names them, and in the CSV each gets a row with empty predictions and
its reason in the `error` column (readable files have an empty `error`).
"""

from __future__ import annotations

import sys

from kerasft.errors import KerasftError


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="predict the classes of image files and folders with a saved model",
        description=__doc__,
    )
    parser.add_argument("model", metavar="MODEL_OR_RUN_DIR", help="a run directory or .keras file")
    parser.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")
    parser.add_argument(
        "--top-k", type=int, default=3, help="classes per image (default 3, capped at the classes)"
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--tta", action="store_true", help="test-time augmentation (flip, shifts)")
    parser.add_argument("--out", metavar="CSV", help="write every row to this CSV file")
    parser.add_argument(
        "--image-size",
        type=int,
        help="side to resize to for a model of free input size (default: the size the model "
        "records, else its own resize size)",
    )
    parser.add_argument("--show", type=int, default=20, help="rows printed (default 20)")
    parser.set_defaults(func=run)


def run(args) -> int:
    import warnings

    from kerasft.data.files import SkippedFilesWarning
    from kerasft.evaluation.predict_files import predict_files

    if args.batch_size < 1:
        raise KerasftError(f"--batch-size {args.batch_size}: give a positive number of images.")
    with warnings.catch_warnings():
        # The broken files are listed below, once, in the command's own words.
        warnings.simplefilter("ignore", SkippedFilesWarning)
        result = predict_files(
            args.model,
            args.paths,
            top_k=args.top_k,
            tta=args.tta,
            batch_size=args.batch_size,
            image_size=args.image_size,
        )
    if result.paths:
        print(result.table(max_rows=max(args.show, 0)))
    summary = f"{len(result.paths)} images predicted"
    if result.skipped:
        summary += f", {len(result.skipped)} non-image files in the folders skipped"
    print(summary)
    if result.errors:
        print(f"warning: {len(result.errors)} files could not be read:", file=sys.stderr)
        for path, reason in result.errors.items():
            print(f"  {path}: {reason}", file=sys.stderr)
    if args.out:
        result.write_csv(args.out)
        print(f"predictions written to {args.out}")
    return 0 if result.paths else 1
