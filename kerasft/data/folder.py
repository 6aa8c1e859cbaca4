"""`from_folder`: an image folder with one sub-folder per class."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from kerasft.data.data_splits import DataSplits
from kerasft.data.files import load_files
from kerasft.data.image_files import walk_images
from kerasft.data.images import IMAGE_EXTENSIONS, is_image_file
from kerasft.data.splits import DEFAULT_SEED
from kerasft.errors import KerasftError, did_you_mean


def list_class_folders(
    directory: str | os.PathLike,
    class_names: Sequence[str] | None = None,
    follow_links: bool = False,
) -> tuple[list[str], list[str], np.ndarray]:
    """`(class_names, paths, labels)` of a class-folder tree, or a clear `KerasftError`."""
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise KerasftError(f"image folder {directory!r} does not exist or is not a directory.")
    subfolders = sorted(
        e.name for e in os.scandir(directory) if e.is_dir() and not e.name.startswith(".")
    )
    if not subfolders:
        loose = [f for f in os.listdir(directory) if is_image_file(f)]
        hint = f" It holds {len(loose)} loose images;" if loose else ""
        raise KerasftError(
            f"{directory!r} has no class sub-folders.{hint} put the images of each class in "
            f"its own sub-folder: {directory}/<class_name>/<image>.jpg."
        )
    if class_names is not None:
        missing = [c for c in class_names if c not in subfolders]
        if missing:
            raise KerasftError(
                f"class folder {missing[0]!r} not found in {directory!r}."
                f"{did_you_mean(missing[0], subfolders)} Sub-folders: {', '.join(subfolders)}."
            )
        names = [str(c) for c in class_names]
    else:
        names = subfolders
    paths, labels, empty = [], [], []
    for index, name in enumerate(names):
        files = walk_images(os.path.join(directory, name), follow_links)
        if not files:
            empty.append(name)
        paths.extend(files)
        labels.extend([index] * len(files))
    if empty:
        raise KerasftError(
            f"class folder(s) {empty} in {directory!r} hold no image files "
            f"({', '.join(IMAGE_EXTENSIONS)}); add images or remove the folder(s)."
        )
    if len(names) < 2:
        raise KerasftError(
            f"{directory!r} has only one class folder ({names[0]!r}); a classifier needs at least "
            "two classes, each in its own sub-folder."
        )
    return names, paths, np.asarray(labels, dtype=np.int64)


def from_folder(
    directory: str | os.PathLike,
    image_size: tuple[int, int] | int | None = None,
    batch_size: int = 32,
    validation_split: float | None = None,
    test_split: float | None = None,
    seed: int | None = DEFAULT_SEED,
    *,
    class_names: Sequence[str] | None = None,
    follow_links: bool = False,
    num_threads: int | None = None,
    **options,
) -> DataSplits:
    """Load an image folder with one sub-folder per class, like Keras's
    `image_dataset_from_directory`, but robust to bad files.

    JPEG, PNG, BMP and GIF files anywhere below each class folder are read as RGB uint8
    (grayscale, palette, RGBA, 16-bit and CMYK images are converted). Corrupt, truncated, empty
    and non-image files are skipped with one `SkippedFilesWarning` listing them
    (`info.skipped`).

    Args:
        directory: the root folder; its sub-folders are the classes (sorted by name).
        image_size: (height, width) to resize to; None takes the most common size found.
        batch_size: examples per batch.
        validation_split, test_split: fractions carved out, stratified by class, with `seed`.
        seed: seeds the split, the shuffle and pipeline augmentation.
        class_names: only these sub-folders, in this order.
        follow_links: follow symbolic links to folders.
        num_threads: threads checking files up front (default: 4 per core, at most 32).
        **options: pipeline options: `shuffle=True`, `cache=None` (memory when it fits, a
            path for a file cache, False), `deterministic=False`, `augment=None` (preset name
            or layers), `augment_in='pipeline'|'model'`, `mix=None|'mixup'|'cutmix'`,
            `mix_alpha`, `label_mode='int'|'categorical'`, `stratify=True`, `interpolation`.

    Returns:
        `DataSplits` with `.train`, `.val`, `.test` (batched `(images, labels)` datasets, None
        when not asked for) and `.info` (`DatasetInfo`).

    Example:

    ```python
    data = kft.data.from_folder("flowers/", image_size=(160, 160), validation_split=0.2)
    data.info.class_names, data.info.skipped
    ```
    """
    names, paths, labels = list_class_folders(directory, class_names, follow_links)
    return load_files(
        paths,
        labels,
        class_names=names,
        multilabel=False,
        source=f"folder:{os.fspath(directory)}",
        image_size=image_size,
        num_threads=num_threads,
        batch_size=batch_size,
        validation_split=validation_split,
        test_split=test_split,
        seed=seed,
        **options,
    )
