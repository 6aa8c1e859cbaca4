"""`from_folder`: an image folder with one sub-folder per class."""

from __future__ import annotations

import os
from collections.abc import Sequence

from kerasft.data.class_folders import list_class_folders
from kerasft.data.data_splits import DataSplits
from kerasft.data.files import load_files
from kerasft.data.images import IMAGE_EXTENSIONS
from kerasft.data.splits import DEFAULT_SEED


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
    names, paths, labels = list_class_folders(
        directory, class_names, follow_links, extensions=IMAGE_EXTENSIONS, kind="image"
    )
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
