"""Figures of kerasft: the confusion matrix, image grids, top losses and Grad-CAM overlays.

The one place kerasft draws pictures: evaluation reports, `TensorBoardExtras` and the MLflow
plugin all use these functions. Figures are drawn on a bare `matplotlib.figure.Figure` with
the Agg canvas, so no GUI backend and no global pyplot state is involved (matplotlib loads on
the first figure). The figure functions return PNG bytes and write them to `path` when one
is given:

>>> import numpy as np
>>> from kerasft.evaluation import plots
>>> png = plots.confusion_matrix_png(np.array([[5, 1], [0, 4]]), ["cat", "dog"])
>>> png[:4]
b'\\x89PNG'
>>> plots.image_grid(np.random.rand(6, 32, 32, 3)).shape  # 3 x 2 tiles, 2-pixel padding
(70, 104, 3)
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def _to_png(fig, path: str | Path | None, tight: bool = True) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight" if tight else None)
    data = buffer.getvalue()
    if path is not None:
        Path(path).write_bytes(data)
    return data


def _figure(**kwargs):
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def to_unit_range(images: np.ndarray) -> np.ndarray:
    """Float images scaled to [0, 1], whatever their range (0-255, 0-1, -1..1 or standardized).

    Args:
        images: one image or a batch; the scale is read from all of it together.

    Example:

    >>> import numpy as np
    >>> from kerasft.evaluation.plots import to_unit_range
    >>> to_unit_range(np.array([0, 127.5, 255])).tolist()
    [0.0, 0.5, 1.0]
    """
    images = np.asarray(images, dtype=np.float32)
    lo, hi = float(images.min()), float(images.max())
    if lo >= 0 and hi <= 1:
        return images
    if lo >= 0 and hi <= 255:
        return images / 255.0
    return (images - lo) / max(hi - lo, 1e-8)


def displayable(image: np.ndarray) -> np.ndarray:
    """An image as float RGB in [0, 1], whatever its range (see `to_unit_range`) or channels.

    Args:
        image: one `(H, W)` or `(H, W, C)` image; grayscale is repeated to RGB, alpha dropped.

    Example:

    >>> import numpy as np
    >>> from kerasft.evaluation.plots import displayable
    >>> displayable(np.full((2, 2), 255)).shape
    (2, 2, 3)
    """
    image = to_unit_range(image)
    if image.ndim == 2:
        image = image[..., None]
    if image.shape[-1] == 1:
        image = np.repeat(image, 3, axis=-1)
    elif image.shape[-1] != 3:
        image = image[..., :3]
    return np.clip(image, 0.0, 1.0)


def image_grid(
    images: np.ndarray, cols: int | None = None, pad: int | tuple[int, int] = 2
) -> np.ndarray:
    """One `(H, W, C)` image in [0, 1] tiling a batch of `(N, h, w[, c])` images, row by row.

    Args:
        images: the batch, in any range (scaled together by `to_unit_range`); grayscale
            `(N, h, w)` gets its channel axis.
        cols: tiles per row; default about the square root of N.
        pad: white pixels around and between the tiles, or `(rows, columns)` of them.

    Example:

    >>> import numpy as np
    >>> from kerasft.evaluation.plots import image_grid
    >>> image_grid(np.zeros((5, 4, 4)), cols=5, pad=(3, 1)).shape
    (10, 26, 1)
    """
    from kerasft.data.channels import with_channel_axis

    images = with_channel_axis(to_unit_range(images))
    if images.ndim != 4:
        raise ValueError(
            f"image_grid needs a batch of images (N, h, w[, c]), got shape {images.shape}."
        )
    pad_y, pad_x = (pad, pad) if isinstance(pad, int) else pad
    n, h, w, c = images.shape
    cols = cols or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    grid = np.ones((rows * (h + pad_y) + pad_y, cols * (w + pad_x) + pad_x, c), dtype=np.float32)
    for k in range(n):
        r, q = divmod(k, cols)
        top, left = pad_y + r * (h + pad_y), pad_x + q * (w + pad_x)
        grid[top : top + h, left : left + w] = images[k]
    return grid


def confusion_matrix_png(
    cm: np.ndarray,
    class_names: Sequence[str] | None = None,
    path: str | Path | None = None,
    normalize: bool = True,
) -> bytes:
    """A confusion-matrix heatmap (rows true, columns predicted), colour by row share, counts printed.

    A multilabel `(C, 2, 2)` stack is drawn as one small `[[tn, fp], [fn, tp]]` panel per label.

    Args:
        cm: counts `(C, C)` (see `kerasft.evaluation.metrics.confusion_matrix`) or `(C, 2, 2)`.
        class_names: one name per class; default "0", "1", ...
        path: also write the PNG there.
        normalize: colour cells by their share of the true class (else by count).
    """
    cm = np.asarray(cm)
    if class_names is None:
        class_names = [str(i) for i in range(cm.shape[0])]
    if cm.ndim == 3:
        return _multilabel_png(cm, class_names, path)
    n = cm.shape[0]
    # Large enough to read the counts, capped so 100 classes still make a sane image.
    size = min(max(4.0, 0.5 * n + 2), 14.0)
    fig = _figure(figsize=(size + 1, size))
    ax = fig.add_subplot()
    rows = cm.sum(axis=1, keepdims=True)
    shares = np.divide(cm, rows, out=np.zeros(cm.shape), where=rows != 0) if normalize else cm
    im = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="share of true class")
    ax.set_xticks(range(n), labels=list(class_names), rotation=45, ha="right")
    ax.set_yticks(range(n), labels=list(class_names))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if n <= 30:
        for i in range(n):
            for j in range(n):
                ax.text(
                    j,
                    i,
                    str(int(cm[i, j])),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if shares[i, j] > 0.5 else "black",
                )
    ax.set_title("Confusion matrix")
    return _to_png(fig, path)


def _multilabel_png(cm: np.ndarray, class_names: Sequence[str], path: str | Path | None) -> bytes:
    n = cm.shape[0]
    cols = min(n, 5)
    rows = int(np.ceil(n / cols))
    fig = _figure(figsize=(2.2 * cols, 2.2 * rows))
    for c in range(n):
        ax = fig.add_subplot(rows, cols, c + 1)
        ax.imshow(cm[c], cmap="Blues")
        for i in range(2):
            for j in range(2):
                ax.text(j, i, str(int(cm[c, i, j])), ha="center", va="center", fontsize=8)
        ax.set_xticks([0, 1], labels=["0", "1"])
        ax.set_yticks([0, 1], labels=["0", "1"])
        ax.set_title(str(class_names[c]), fontsize=9)
    fig.suptitle("Per-label confusion (rows true, columns predicted)")
    return _to_png(fig, path)


def blend_heatmap(image: np.ndarray, heatmap: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """An image (any range) with a heatmap in [0, 1] blended over it in the jet colormap, RGB 0-1."""
    from matplotlib import colormaps

    colored = colormaps["jet"](np.clip(heatmap, 0.0, 1.0))[..., :3]
    return np.clip((1 - alpha) * displayable(image) + alpha * colored, 0.0, 1.0)


def top_losses_png(
    images: np.ndarray,
    titles: Sequence[str],
    path: str | Path | None = None,
    heatmaps: np.ndarray | None = None,
    alpha: float = 0.45,
    cols: int = 4,
) -> bytes:
    """A grid of images with one title each; with `heatmaps` (N, H, W) in [0, 1] they are overlaid."""
    n = len(images)
    cols = min(max(n, 1), cols)
    h, w = np.asarray(images[0]).shape[:2] if n else (1, 1)
    tiles = [
        displayable(images[k]) if heatmaps is None else blend_heatmap(images[k], heatmaps[k], alpha)
        for k in range(n)
    ]
    # One canvas in one Axes: drawing 16 Axes costs seconds, one costs a tenth of that.
    # Titles are two lines of 8 pt: about a fifth of a 2.6-inch tile, whatever its pixels.
    gap_y, gap_x = max(int(round(0.22 * w)), 1), max(int(round(0.1 * w)), 1)
    canvas = image_grid(np.stack(tiles) if n else np.ones((1, h, w, 3)), cols, (gap_y, gap_x))
    width = 2.6 * cols
    fig = _figure(figsize=(width, width * canvas.shape[0] / canvas.shape[1] / 0.94))
    ax = fig.add_axes((0, 0, 1, 0.94))
    for k in range(n):
        r, c = divmod(k, cols)
        y0, x0 = gap_y + r * (h + gap_y), gap_x + c * (w + gap_x)
        ax.text(x0 + w / 2, y0 - 0.08 * h, titles[k], ha="center", va="bottom", fontsize=8)
    ax.imshow(canvas, interpolation="nearest")
    ax.axis("off")
    fig.suptitle("Top losses" + (" with Grad-CAM" if heatmaps is not None else ""))
    return _to_png(fig, path, tight=False)
