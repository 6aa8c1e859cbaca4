"""PNG figures for evaluation reports: the confusion matrix and the grid of top losses.

Figures are drawn on a bare `matplotlib.figure.Figure` with the Agg canvas, so no GUI backend and
no global pyplot state is involved. Each function returns the PNG bytes and writes them to `path`
when one is given:

>>> import numpy as np
>>> from kerasft.evaluation import plots
>>> png = plots.confusion_matrix_png(np.array([[5, 1], [0, 4]]), ["cat", "dog"])
>>> png[:4]
b'\\x89PNG'
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def _to_png(fig: Figure, path: str | Path | None, tight: bool = True) -> bytes:
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight" if tight else None)
    data = buffer.getvalue()
    if path is not None:
        Path(path).write_bytes(data)
    return data


def displayable(image: np.ndarray) -> np.ndarray:
    """An image as float RGB in [0, 1], whatever its range (0-255, 0-1, -1-1) or channel count."""
    image = np.asarray(image, np.float32)
    if image.ndim == 2:
        image = image[..., None]
    if image.shape[-1] == 1:
        image = np.repeat(image, 3, axis=-1)
    elif image.shape[-1] != 3:
        image = image[..., :3]
    lo, hi = float(image.min()), float(image.max())
    if lo >= 0 and hi > 1.0:
        image = image / 255.0
    elif lo < 0:
        image = (image - lo) / max(hi - lo, 1e-8)
    return np.clip(image, 0.0, 1.0)


def confusion_matrix_png(
    cm: np.ndarray,
    class_names: Sequence[str],
    path: str | Path | None = None,
    normalize: bool = True,
) -> bytes:
    """A confusion-matrix heatmap (rows true, columns predicted), colour by row share, counts printed.

    A multilabel `(C, 2, 2)` stack is drawn as one small `[[tn, fp], [fn, tp]]` panel per label.
    """
    cm = np.asarray(cm)
    if cm.ndim == 3:
        return _multilabel_png(cm, class_names, path)
    n = cm.shape[0]
    size = max(4.0, 0.5 * n + 2)
    fig = Figure(figsize=(size + 1, size))
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
    fig = Figure(figsize=(2.2 * cols, 2.2 * rows))
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
    rows = max(int(np.ceil(n / cols)), 1)
    h, w = np.asarray(images[0]).shape[:2] if n else (1, 1)
    # One canvas in one Axes: drawing 16 Axes costs seconds, one costs a tenth of that.
    # Titles are two lines of 8 pt: about a fifth of a 2.6-inch tile, whatever its pixels.
    gap_y, gap_x = max(int(round(0.22 * w)), 1), max(int(round(0.1 * w)), 1)
    canvas = np.ones((rows * (h + gap_y), cols * (w + gap_x) - gap_x, 3))
    width = 2.6 * cols
    fig = Figure(figsize=(width, width * canvas.shape[0] / canvas.shape[1] / 0.94))
    ax = fig.add_axes((0, 0, 1, 0.94))
    for k in range(n):
        r, c = divmod(k, cols)
        y0, x0 = r * (h + gap_y) + gap_y, c * (w + gap_x)
        tile = (
            displayable(images[k])
            if heatmaps is None
            else blend_heatmap(images[k], heatmaps[k], alpha)
        )
        canvas[y0 : y0 + h, x0 : x0 + w] = tile
        ax.text(x0 + w / 2, y0 - 0.08 * h, titles[k], ha="center", va="bottom", fontsize=8)
    ax.imshow(canvas, interpolation="nearest")
    ax.axis("off")
    fig.suptitle("Top losses" + (" with Grad-CAM" if heatmaps is not None else ""))
    return _to_png(fig, path, tight=False)
