"""Representative images for int8 calibration and for timing an exported model.

A source is a folder of images (searched recursively, so a class-folder tree works too),
`folder:PATH`, or a Keras dataset as `keras:fashion_mnist` (its training split; a bare name
like `fashion_mnist` works too, as in `kerasft fit` configs).

Example:

```python
from kerasft.deploy import calibration_images
images = calibration_images("keras:fashion_mnist", (None, 28, 28, 1), (28, 28), count=200)
images.shape, images.dtype  # (200, 28, 28, 1) uint8
```
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from kerasft.errors import KerasftError


def _keras_name(spec: str) -> str | None:
    from kerasft.data.keras_datasets import ALIASES, DATASETS

    name = spec[len("keras:") :] if spec.startswith("keras:") else spec
    if name.strip().lower() in {*DATASETS, *ALIASES}:
        return name
    if spec.startswith("keras:"):
        from kerasft.errors import unknown_name

        raise unknown_name("Keras dataset", name, DATASETS)
    return None


def calibration_images(
    spec: str,
    input_shape: Sequence,
    size: Sequence[int] | None,
    count: int = 200,
    seed: int = 0,
) -> np.ndarray:
    """`count` images from `spec` (a random draw, seeded) as uint8 batches for the model.

    Args:
        spec: a folder, `folder:PATH`, or `keras:NAME` (a Keras dataset's training split).
        input_shape: the model's input shape, batch axis included.
        size: `(height, width)` to resize to (the exported model's).
        count: how many images at most.
        seed: seeds the draw.

    Raises:
        KerasftError: the source does not exist or holds no readable image.
    """
    from kerasft.data.model_input import uint8_batch

    rng = np.random.default_rng(seed)
    from kerasft.model_file import data_spec

    folder = data_spec(spec)
    if os.path.isdir(folder):
        from kerasft.data.image_files import find_images, read_images

        readable = find_images([folder]).readable
        if not readable:
            raise KerasftError(f"calibration folder {folder!r} holds no readable image.")
        pick = np.sort(rng.permutation(len(readable))[:count])
        x = read_images([readable[i] for i in pick], size, channels=3)
        return uint8_batch(x, input_shape, size)
    name = _keras_name(spec)
    if name is None:
        raise KerasftError(
            f"calibration source {spec!r} is neither a folder nor a Keras dataset; give a "
            "folder of images, a class-folder tree, or keras:fashion_mnist."
        )
    from kerasft.data.keras_datasets import load_arrays

    (x, _), _, _ = load_arrays(name)
    pick = np.sort(rng.permutation(len(x))[:count])
    return uint8_batch(x[pick], input_shape, size)
