"""Real image files on disk, as users have them: class folders and CSVs with broken files.

Fashion-MNIST images written as PNG files (three easy classes), one real scikit-image photo of
another size in each class, and two files that cannot be read.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
from PIL import Image

CLASSES = {"bag": 8, "sneaker": 7, "trouser": 1}  # folder name -> Fashion-MNIST label
BROKEN = ("bag/truncated.png", "sneaker/notes.jpg")


def _photos() -> list[np.ndarray]:
    import skimage.data

    return [skimage.data.astronaut(), skimage.data.chelsea(), skimage.data.coffee()]


def write_images(root: Path, fashion_mnist, per_class: int = 60, offset: int = 0) -> dict:
    """Write `per_class` PNGs of each class (from `offset` on) under `root/<class>/`.

    Returns {relative path: class name} of the readable files written.
    """
    (x, y), _, _ = fashion_mnist
    written = {}
    for (name, label), photo in zip(CLASSES.items(), _photos(), strict=True):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        picks = np.flatnonzero(y == label)[offset : offset + per_class]
        for i in picks:
            Image.fromarray(x[i]).save(folder / f"{name}_{i}.png")
            written[f"{name}/{name}_{i}.png"] = name
        # A real photo of quite another size and mode (RGB JPEG) among the grayscale PNGs.
        small = Image.fromarray(photo).resize((96, 72))
        small.save(folder / f"{name}_photo.jpg", quality=90)
        written[f"{name}/{name}_photo.jpg"] = name
    png = io.BytesIO()
    Image.fromarray(x[0]).save(png, format="PNG")
    (root / BROKEN[0]).write_bytes(png.getvalue()[: len(png.getvalue()) // 2])
    (root / BROKEN[1]).write_text("not an image, only named like one\n")
    return written


def write_csv(path: Path, labels: dict, broken: tuple[str, ...] = BROKEN) -> Path:
    """A CSV of `path,label` rows (paths relative to the CSV's folder), broken files included."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label"])
        for rel, name in labels.items():
            writer.writerow([rel, name])
        for rel in broken:
            writer.writerow([rel, rel.split("/")[0]])
    return path
