"""Pictures for TensorBoard and run reports: a confusion-matrix figure and a grid of sample images.

import numpy as np
from kerasft.callbacks import images
cm = images.confusion_matrix([0, 1, 1, 2], [0, 1, 2, 2], num_classes=3)
png = images.confusion_matrix_png(cm, class_names=["cat", "dog", "fox"])  # PNG bytes
grid = images.image_grid(np.random.rand(6, 32, 32, 3))                   # (H, W, 3) in [0, 1]
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np


def confusion_matrix(y_true, y_pred, num_classes: int) -> np.ndarray:
    """Counts `cm[true, predicted]` of integer labels, as an `(num_classes, num_classes)` int array."""
    y_true = np.asarray(y_true, dtype=np.int64).reshape(-1)
    y_pred = np.asarray(y_pred, dtype=np.int64).reshape(-1)
    # Ignore out-of-range labels rather than letting bincount grow the matrix silently.
    keep = (y_true >= 0) & (y_true < num_classes) & (y_pred >= 0) & (y_pred < num_classes)
    flat = y_true[keep] * num_classes + y_pred[keep]
    return np.bincount(flat, minlength=num_classes**2).reshape(num_classes, num_classes)


def confusion_matrix_figure(
    cm: np.ndarray, class_names: Sequence[str] | None = None, normalize: bool = True
):
    """A matplotlib figure of `cm`, rows = true class; cells show counts (colour = row share)."""
    from matplotlib.figure import Figure

    cm = np.asarray(cm)
    n = cm.shape[0]
    names = list(class_names) if class_names is not None else [str(i) for i in range(n)]
    rows = cm.sum(axis=1, keepdims=True)
    shares = np.divide(cm, rows, out=np.zeros(cm.shape, dtype=float), where=rows > 0)
    size = min(3 + 0.45 * n, 14)
    # A bare Figure (not pyplot) so callbacks never open windows or leak pyplot state.
    fig = Figure(figsize=(size, size), dpi=80)
    ax = fig.add_subplot()
    ax.imshow(shares if normalize else cm, cmap="Blues", vmin=0)
    ax.set_xticks(range(n), names, rotation=45, ha="right")
    ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if n <= 30:
        for i in range(n):
            for j in range(n):
                ax.text(
                    j,
                    i,
                    int(cm[i, j]),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if shares[i, j] > 0.5 else "black",
                )
    fig.tight_layout()
    return fig


def figure_to_png(fig) -> bytes:
    """PNG bytes of a matplotlib figure."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def confusion_matrix_png(cm: np.ndarray, class_names: Sequence[str] | None = None) -> bytes:
    """PNG bytes of `confusion_matrix_figure(cm, class_names)`."""
    return figure_to_png(confusion_matrix_figure(cm, class_names))


def png_to_array(png: bytes) -> np.ndarray:
    """A `(H, W, C)` uint8 array from PNG bytes."""
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def to_unit_range(images: np.ndarray) -> np.ndarray:
    """Float images scaled to [0, 1], whatever their range (0-255, 0-1, -1..1 or standardized)."""
    images = np.asarray(images, dtype=np.float32)
    lo, hi = float(images.min()), float(images.max())
    if lo >= 0 and hi <= 1:
        return images
    if lo >= 0 and hi <= 255:
        return images / 255.0
    return (images - lo) / max(hi - lo, 1e-8)


def image_grid(images: np.ndarray, cols: int | None = None, pad: int = 2) -> np.ndarray:
    """One `(H, W, C)` image in [0, 1] tiling a batch of `(N, h, w[, c])` images, row by row."""
    images = to_unit_range(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4:
        raise ValueError(
            f"image_grid needs a batch of images (N, h, w[, c]), got shape {images.shape}."
        )
    n, h, w, c = images.shape
    cols = cols or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    grid = np.ones((rows * (h + pad) + pad, cols * (w + pad) + pad, c), dtype=np.float32)
    for k in range(n):
        r, q = divmod(k, cols)
        top, left = pad + r * (h + pad), pad + q * (w + pad)
        grid[top : top + h, left : left + w] = images[k]
    return grid
