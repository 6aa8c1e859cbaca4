"""Image files given as paths: find them in folders, check them, read them in model-sized batches.

Files named one by one are always tried (a file that is no image is reported broken); folders
are searched recursively for names with an image extension, and other files there are counted
as skipped. Every file is checked with PIL up front (`kerasft.data.images.check_images`), so a
broken one is reported with its reason instead of stopping the run.

Example:

>>> import os, tempfile
>>> import numpy as np
>>> from PIL import Image
>>> from kerasft.data.image_files import find_images, read_images
>>> folder = tempfile.mkdtemp()
>>> Image.fromarray(np.full((20, 30, 3), 200, "uint8")).save(os.path.join(folder, "a.png"))
>>> _ = open(os.path.join(folder, "notes.txt"), "w").write("not an image")
>>> found = find_images([folder])
>>> [os.path.basename(c.path) for c in found.readable], [os.path.basename(p) for p in found.skipped]
(['a.png'], ['notes.txt'])
>>> read_images(found.readable, (10, 10), channels=1).shape
(1, 10, 10, 1)
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from kerasft.data.images import ImageCheck, check_images, is_image_file, load_image
from kerasft.errors import KerasftError


def walk_images(directory: str | os.PathLike, follow_links: bool = False) -> list[str]:
    """The image files below `directory`, in sorted order, hidden files and folders left out.

    Args:
        directory: the folder to search recursively.
        follow_links: follow symbolic links to folders.
    """
    return _walk(directory, follow_links)[0]


def _walk(directory, follow_links: bool) -> tuple[list[str], list[str]]:
    images, others = [], []
    for root, dirs, files in os.walk(os.fspath(directory), followlinks=follow_links):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            (images if is_image_file(name) else others).append(os.path.join(root, name))
    return images, others


@dataclass
class FoundImages:
    """The files found for some paths, sorted into readable and broken ones.

    Attributes:
        readable: the checks of the files that decode, in the order found.
        broken: the checks of the files that do not, each with its `reason`.
        skipped: files inside the folders that have no image extension (not tried).
    """

    readable: list[ImageCheck] = field(default_factory=list)
    broken: list[ImageCheck] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def as_path_list(paths) -> list[str] | None:
    """`paths` as a list of strings when it is a path or a list of paths, else None."""
    if isinstance(paths, (str, os.PathLike)):
        return [os.fspath(paths)]
    if isinstance(paths, (list, tuple)) and paths:
        if all(isinstance(p, (str, os.PathLike)) for p in paths):
            return [os.fspath(p) for p in paths]
    return None


def find_images(paths: Iterable[str | os.PathLike], num_threads: int | None = None) -> FoundImages:
    """Expand folders (recursively), then check every file with PIL.

    Args:
        paths: image files and folders of images.
        num_threads: threads checking files (default: 4 per core, at most 32).

    Raises:
        KerasftError: a path does not exist, or no files were found at all.
    """
    files, skipped = [], []
    for path in paths:
        path = os.fspath(path)
        if os.path.isdir(path):
            images, others = _walk(path, follow_links=False)
            files.extend(images)
            skipped.extend(others)
        elif os.path.exists(path):
            files.append(path)
        else:
            raise KerasftError(f"{path}: no such file or folder; give image files or folders.")
    if not files:
        raise KerasftError(
            f"no image files found in {', '.join(map(os.fspath, paths))} (looked for names ending "
            "in .jpg, .jpeg, .png, .bmp or .gif)."
        )
    found = FoundImages(skipped=skipped)
    for check in check_images(files, num_threads=num_threads):
        (found.broken if check.status == "broken" else found.readable).append(check)
    return found


def read_image(check: ImageCheck, size: Sequence[int] | None, channels: int) -> np.ndarray:
    """One checked file as uint8 `(H, W, channels)`, resized like kerasft's training pipeline.

    Args:
        check: the file's `ImageCheck` (its converted PNG bytes are used when it has them).
        size: `(height, width)` to resize to, or None to keep the file's size.
        channels: 1 (grayscale) or 3 (RGB); 4 keeps RGB and adds an opaque alpha channel.
    """
    import io

    import tensorflow as tf

    from kerasft.data.pipeline import resize_image

    image = load_image(io.BytesIO(check.png_bytes) if check.png_bytes else check.path)
    if channels == 1:
        if (image == image[..., :1]).all():
            image = image[..., :1]  # a grayscale file: its own values, bit for bit
        else:
            gray = tf.image.rgb_to_grayscale(tf.cast(image, tf.float32))
            image = np.asarray(tf.cast(tf.round(gray), tf.uint8))
    elif channels == 4:
        image = np.concatenate([image, np.full(image.shape[:2] + (1,), 255, np.uint8)], -1)
    elif channels != 3:
        raise KerasftError(f"cannot read images with {channels} channels; models take 1, 3 or 4.")
    if size is not None and tuple(image.shape[:2]) != tuple(size):
        image = np.asarray(resize_image(tf.constant(image), tuple(int(s) for s in size)))
    return image


def read_images(
    checks: Sequence[ImageCheck], size: Sequence[int] | None, channels: int = 3
) -> np.ndarray:
    """Checked files as one uint8 batch `(N, H, W, channels)`; they must share a size if `size`
    is None.

    Args:
        checks: the files' `ImageCheck`s (readable ones).
        size: `(height, width)` to resize every image to, or None.
        channels: 1, 3 or 4.
    """
    return np.stack([read_image(c, size, channels) for c in checks])


def iter_model_batches(
    checks: Sequence[ImageCheck],
    input_shape: Sequence,
    size: Sequence[int] | None,
    batch_size: int = 32,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield `(indices, images)`: uint8 batches shaped for a model of `input_shape`.

    With `size` None (a model of free input size and no size to use) images of one size are
    batched together, as a batch needs one size; `indices` say which of `checks` each row is.

    Args:
        checks: readable files.
        input_shape: the model's input shape, batch axis included.
        size: `(height, width)` for every image, or None for each image's own.
        batch_size: images per batch.
    """
    rank = len(input_shape)
    channels = 1 if rank == 3 else int(input_shape[-1] or 3)
    groups: dict[tuple, list[int]] = {}
    for i, check in enumerate(checks):
        key = tuple(size) if size is not None else tuple(check.size or ())
        groups.setdefault(key, []).append(i)
    for indices in groups.values():
        for start in range(0, len(indices), batch_size):
            chunk = np.asarray(indices[start : start + batch_size])
            x = read_images([checks[i] for i in chunk], size, channels)
            yield chunk, (x[..., 0] if rank == 3 else x)
