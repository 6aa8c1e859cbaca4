"""`kerasft data`: prepare local copies of datasets, and describe a data source.

kerasft data prepare fashion_mnist     # copy Debian's Fashion-MNIST into the Keras cache
kerasft data info path/to/folder       # classes, counts, sizes, unreadable files
"""

from __future__ import annotations

import argparse
import os

from kerasft.errors import KerasftError


def register(subparsers) -> None:
    parser = subparsers.add_parser("data", help="prepare and inspect datasets")
    actions = parser.add_subparsers(dest="data_command", metavar="ACTION")
    prepare = actions.add_parser(
        "prepare",
        help="put a Keras dataset's files where keras.datasets finds them (no download)",
    )
    prepare.add_argument("name", help="fashion_mnist, mnist, cifar10 or cifar100")
    prepare.set_defaults(func=run_prepare)
    info = actions.add_parser("info", help="describe a folder, CSV or Keras dataset")
    info.add_argument("source", help="a class-folder tree, a CSV of path,label, or a Keras dataset")
    info.add_argument("--path-col", default="path", help="CSV column of image paths")
    info.add_argument("--label-col", default="label", help="CSV column of labels")
    info.set_defaults(func=run_info)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


def run_prepare(args: argparse.Namespace) -> int:
    from kerasft import paths
    from kerasft.data import keras_datasets

    name = keras_datasets._name(args.name)
    if not keras_datasets.ensure_local(name):
        spec = keras_datasets.DATASETS[name]
        raise KerasftError(
            f"no local copy of {name!r} found; "
            + spec.how_to_get.format(dir=paths.keras_datasets_dir())
            + "."
        )
    print(f"{name}: ready in {paths.keras_datasets_dir()}")
    return 0


def run_info(args: argparse.Namespace) -> int:
    import warnings

    import kerasft.data as data
    from kerasft.data import keras_datasets

    source = args.source
    with warnings.catch_warnings():
        # The skipped files are printed with the summary below.
        warnings.simplefilter("ignore", data.SkippedFilesWarning)
        if os.path.isdir(source):
            loaded = data.from_folder(source)
        elif os.path.isfile(source):
            loaded = data.from_csv(source, path_col=args.path_col, label_col=args.label_col)
        elif source.lower() in keras_datasets.DATASETS or source.lower() in keras_datasets.ALIASES:
            loaded = data.from_keras(source)
        else:
            raise KerasftError(
                f"{source!r} is neither a folder, a CSV file nor a Keras dataset "
                f"({', '.join(keras_datasets.DATASETS)})."
            )
    print(loaded.info)
    for path, reason in loaded.info.skipped.items():
        print(f"  skipped {path}: {reason}")
    return 0
