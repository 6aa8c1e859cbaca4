"""Image files with labels -> checked, decoded, batched splits (the core of from_folder/from_csv).

Every file is checked once up front (`kerasft.data.images.check_images`); broken ones are left
out with one `SkippedFilesWarning` that counts and lists them, and files TensorFlow would
misread are converted by PIL. The pipeline then only ever sees files it can decode.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence

import numpy as np

from kerasft.data.images import check_images, decode_tf
from kerasft.data.loading import Part, assemble
from kerasft.errors import KerasftError

# How many skipped paths the warning itself lists; `info.skipped` always has all of them.
LISTED_IN_WARNING = 20


class SkippedFilesWarning(UserWarning):
    """Some files (images, texts) could not be read or were empty, and were left out."""


def warn_skipped(
    skipped: dict[str, str], stacklevel: int = 4, what: str = "unreadable image file(s)"
) -> None:
    """One warning that counts and lists the files (or texts) left out.

    Args:
        skipped: path (or row) -> reason.
        stacklevel: as for `warnings.warn`; 4 points at the caller of a `kft.data` loader.
        what: what was skipped, after the count: 'unreadable image file(s)'.
    """
    if not skipped:
        return
    shown = list(skipped.items())[:LISTED_IN_WARNING]
    lines = "\n".join(f"  {path}: {reason}" for path, reason in shown)
    more = len(skipped) - len(shown)
    tail = f"\n  ... and {more} more (all in info.skipped)" if more > 0 else ""
    warnings.warn(
        f"kerasft skipped {len(skipped)} {what}:\n{lines}{tail}",
        SkippedFilesWarning,
        stacklevel=stacklevel,
    )


def load_files(
    paths: Sequence[str],
    labels: np.ndarray,
    *,
    class_names: list[str],
    multilabel: bool,
    source: str,
    image_size=None,
    num_threads: int | None = None,
    **options,
):
    """Check `paths`, drop the broken ones with one warning, and assemble the splits.

    `labels` are already encoded (indices or multi-hot rows), one per path.
    """
    import tensorflow as tf

    if len(paths) == 0:
        raise KerasftError(f"no image files found in {source}.")
    checks = check_images(list(paths), num_threads=num_threads)
    skipped = {c.path: c.reason for c in checks if c.status == "broken"}
    keep = np.array([c.status != "broken" for c in checks], dtype=bool)
    warn_skipped(skipped)
    if not keep.any():
        raise KerasftError(f"none of the {len(paths)} image files in {source} could be read.")
    kept = [c for c in checks if c.status != "broken"]
    labels = labels[keep]
    if not multilabel:
        present = np.bincount(labels, minlength=len(class_names))
        empty = [class_names[i] for i in np.flatnonzero(present == 0)]
        if empty:
            raise KerasftError(
                f"class(es) {empty} have no readable images in {source}; add images or remove "
                "the class."
            )
    if image_size is None:
        # Batching needs one size: take the most common one, and resize the rest to it.
        image_size = Counter(c.size for c in kept).most_common(1)[0][0]
    paths_t = tf.constant([c.path for c in kept])
    blobs_t = tf.constant([c.png_bytes for c in kept])
    labels_t = tf.constant(labels)

    def elements(indices):
        indices = tf.constant(indices, dtype=tf.int64)
        return tf.data.Dataset.from_tensor_slices(
            (
                (tf.gather(paths_t, indices), tf.gather(blobs_t, indices)),
                tf.gather(labels_t, indices),
            )
        )

    return assemble(
        {"train": Part(labels, elements, cheap=True)},
        lambda raw: decode_tf(raw[0], raw[1], channels=3),
        class_names=class_names,
        multilabel=multilabel,
        image_size=image_size,
        channels=3,
        source=source,
        skipped=skipped,
        converted=[c.path for c in kept if c.status == "converted"],
        **options,
    )
