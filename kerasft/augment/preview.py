"""A grid of augmented samples, to see what a preset does before training with it.

`preview_grid` returns the grid as a uint8 array, so the same picture can be written to a PNG
(`save_preview`, `kerasft augment preview`) or logged to TensorBoard
(`tf.summary.image("augmentation", grid[None])`).

Example:

```python
(x, _), _, _ = kft.data.load_arrays("fashion_mnist")
grid = kft.augment.preview_grid(x[:4], "medium", rows=4, cols=6, seed=0)
kft.augment.save_preview("grid.png", x[:4], "medium")
```
"""

from __future__ import annotations

import os

import numpy as np

from kerasft.data.channels import with_channel_axis
from kerasft.errors import KerasftError


def _as_images(images) -> np.ndarray:
    # (N, H, W) grayscale, as keras.datasets gives it, gets its channel axis.
    images = with_channel_axis(np.asarray(images))
    if images.ndim != 4 or images.shape[-1] not in (1, 3, 4):
        raise KerasftError(
            f"images must be (N, H, W) or (N, H, W, C) with C in 1, 3, 4; got {images.shape}."
        )
    if len(images) == 0:
        raise KerasftError("no images to preview.")
    return images


def preview_grid(
    images,
    layers="medium",
    rows: int = 4,
    cols: int = 6,
    seed: int | None = 0,
    padding: int = 2,
    value_range: tuple[float, float] = (0, 255),
    show_original: bool = True,
) -> np.ndarray:
    """A (rows*H + pads, cols*W + pads, 3) uint8 grid of augmented images.

    Row r shows image `r % len(images)`: first as it is (when `show_original`), then
    augmented `cols - 1` times with `layers` (a preset name or Keras layers) in training mode.

    Args:
        images: the images to augment, `(N, H, W)` (grayscale) or `(N, H, W, C)`.
        layers: a preset name or Keras layers (see `kft.augment.resolve`).
        rows, cols: the grid's shape; a row is one image, its columns its augmented copies.
        seed: seeds the augmentation, so a preview can be drawn again.
        padding: pixels between the tiles.
        value_range: the pixel range of `images`.
        show_original: put the image as it is in the first column.
    """
    from kerasft.augment.presets import resolve
    from kerasft.evaluation.plots import image_grid

    if rows < 1 or cols < 1:
        raise KerasftError(f"rows={rows} and cols={cols} must be at least 1.")
    images = _as_images(images).astype("float32")
    layers = resolve(layers, value_range=value_range, seed=seed)
    low, high = value_range
    tiles = []
    for r in range(rows):
        image = images[r % len(images)]
        repeats = cols - 1 if show_original else cols
        batch = np.repeat(image[None], repeats, axis=0)
        for layer in layers:
            batch = np.asarray(layer(batch, training=True))
        tiles += ([image] if show_original else []) + list(batch)
    tiles = np.clip((np.stack(tiles)[..., :3] - low) / (high - low), 0.0, 1.0)
    if tiles.shape[-1] == 1:
        tiles = np.repeat(tiles, 3, axis=-1)
    grid = image_grid(tiles, cols, pad=padding)
    return np.rint(grid * 255).astype(np.uint8)


def save_preview(
    path: str | os.PathLike,
    images,
    layers="medium",
    rows: int = 4,
    cols: int = 6,
    seed: int | None = 0,
    scale: int | None = None,
    **kwargs,
) -> str:
    """Write `preview_grid(...)` as a PNG at `path` and return the path.

    `scale` enlarges small images (e.g. 28x28) by an integer factor so the grid is legible;
    by default images smaller than 96 pixels are scaled up to about 96.

    Args:
        path: the PNG file to write.
        images, layers, rows, cols, seed: as for `preview_grid`.
        scale: integer enlargement of each tile; by default small images reach about 96 pixels.
        **kwargs: the other arguments of `preview_grid`.
    """
    from PIL import Image

    images = _as_images(images)
    if scale is None:
        scale = max(1, 96 // max(images.shape[1:3]))
    grid = preview_grid(images, layers, rows=rows, cols=cols, seed=seed, **kwargs)
    picture = Image.fromarray(grid)
    if scale > 1:
        picture = picture.resize((grid.shape[1] * scale, grid.shape[0] * scale), Image.NEAREST)
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    picture.save(path, format="PNG")
    return path
