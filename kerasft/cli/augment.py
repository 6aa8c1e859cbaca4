"""`kerasft augment`: see what an augmentation preset does.

kerasft augment preview --preset medium --data fashion_mnist --out grid.png
kerasft augment preview --preset heavy --data photos/ --out grid.png --rows 3 --cols 8
kerasft augment list
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from kerasft.errors import KerasftError


def register(subparsers) -> None:
    parser = subparsers.add_parser("augment", help="preview and list augmentation presets")
    actions = parser.add_subparsers(dest="augment_command", metavar="ACTION")
    preview = actions.add_parser("preview", help="write a PNG grid of augmented samples")
    preview.add_argument(
        "--preset", default="medium", help="none, light, medium, heavy, randaugment"
    )
    preview.add_argument(
        "--data",
        default="fashion_mnist",
        help="a Keras dataset name, a class-folder tree or an image file (default fashion_mnist)",
    )
    preview.add_argument("--out", default="augment_preview.png", help="PNG file to write")
    preview.add_argument("--rows", type=int, default=4, help="images (one per row)")
    preview.add_argument("--cols", type=int, default=6, help="original + augmented copies per row")
    preview.add_argument("--seed", type=int, default=0, help="seed of the augmentation")
    preview.add_argument("--image-size", type=int, default=None, help="resize images to N x N")
    preview.set_defaults(func=run_preview)
    listing = actions.add_parser("list", help="list the presets and their layers")
    listing.set_defaults(func=run_list)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


def _folder_samples(path: str, count: int) -> list[np.ndarray]:
    from kerasft.data.images import is_image_file, load_image

    if os.path.isfile(path):
        return [load_image(path)]
    # One image per class folder in turn, so the rows show different classes.
    per_folder = []
    for root, dirs, files in os.walk(path):
        dirs.sort()
        found = [os.path.join(root, f) for f in sorted(files) if is_image_file(f)]
        if found:
            per_folder.append(found)
    samples = []
    for rank in range(max((len(f) for f in per_folder), default=0)):
        for files in per_folder:
            if rank < len(files) and len(samples) < count:
                try:
                    samples.append(load_image(files[rank]))
                except OSError:
                    continue  # a broken file is not worth a failed preview
    if not samples:
        raise KerasftError(f"no readable images found in {path!r}.")
    return samples


def load_samples(data: str, count: int, image_size: int | None) -> np.ndarray:
    """`count` sample images from a Keras dataset name, a folder or an image file."""
    from PIL import Image

    from kerasft.data import keras_datasets

    if os.path.exists(data):
        images = _folder_samples(data, count)
    elif data.lower() in keras_datasets.DATASETS or data.lower() in keras_datasets.ALIASES:
        (x, y), _, _ = keras_datasets.load_arrays(data)
        # The first example of each class, in turn.
        firsts = [int(np.flatnonzero(y == c)[0]) for c in np.unique(y)]
        images = [x[firsts[i % len(firsts)]] for i in range(count)]
    else:
        raise KerasftError(
            f"--data {data!r} is neither a path nor a Keras dataset "
            f"({', '.join(keras_datasets.DATASETS)})."
        )
    size = (image_size, image_size) if image_size else images[0].shape[:2]
    resized = []
    for image in images:
        if image.shape[:2] != tuple(size):
            image = np.asarray(Image.fromarray(image).resize((size[1], size[0]), Image.BILINEAR))
        resized.append(image)
    channels = {im.shape[-1] if im.ndim == 3 else 1 for im in resized}
    if len(channels) > 1:
        resized = [np.repeat(im[..., None], 3, -1) if im.ndim == 2 else im for im in resized]
    return np.stack(resized)


def run_preview(args: argparse.Namespace) -> int:
    from kerasft.augment.presets import preset
    from kerasft.augment.preview import save_preview

    layers = preset(args.preset, seed=args.seed)  # an unknown name fails before any loading
    images = load_samples(args.data, args.rows, args.image_size)
    path = save_preview(args.out, images, layers, rows=args.rows, cols=args.cols, seed=args.seed)
    print(f"wrote {path} ({args.rows}x{args.cols}, preset {args.preset!r})")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from kerasft.augment.presets import PRESETS, preset

    for name in PRESETS:
        layers = preset(name)
        print(f"{name:12s} {', '.join(type(layer).__name__ for layer in layers) or '-'}")
    return 0
