"""Test-time augmentation: average a model's predictions over flipped and shifted copies of images."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kerasft.errors import KerasftError


class TestTimeAugmentation:
    """The views of an image batch whose predictions are averaged at test time.

    The views are the image itself, its horizontal mirror (`flip=True`) and one shifted copy per
    entry of `shifts`: `(dy, dx)` as fractions of the height and width, the uncovered border filled
    by repeating the edge pixels (so the image keeps its size and no black border appears).

    Args:
        flip: add the horizontal mirror of each image.
        shifts: `(dy, dx)` fractions of the height and width, one shifted view per entry.

    Example:

    >>> import numpy as np
    >>> import keras
    >>> from kerasft.evaluation.tta import TestTimeAugmentation
    >>> model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
    ...                           keras.layers.Dense(2, activation="softmax")])
    >>> tta = TestTimeAugmentation(flip=True, shifts=())
    >>> x = np.random.rand(3, 8, 8, 1).astype("float32")
    >>> probs = tta.predict(model, x)
    >>> manual = (model.predict(x, verbose=0) + model.predict(x[:, :, ::-1], verbose=0)) / 2
    >>> bool(np.allclose(probs, manual, atol=1e-6))
    True
    """

    __test__ = False  # not a pytest test class, despite the name

    def __init__(
        self,
        flip: bool = True,
        shifts: Sequence[tuple[float, float]] = ((0.0625, 0.0625), (-0.0625, -0.0625)),
    ):
        self.flip = bool(flip)
        self.shifts = tuple((float(dy), float(dx)) for dy, dx in shifts)
        for dy, dx in self.shifts:
            if not (-0.5 < dy < 0.5 and -0.5 < dx < 0.5):
                raise KerasftError(
                    f"TTA shift {(dy, dx)} is out of range; give fractions of the image size "
                    "between -0.5 and 0.5, e.g. (0.0625, 0.0625)."
                )

    @property
    def num_views(self) -> int:
        return 1 + int(self.flip) + len(self.shifts)

    @staticmethod
    def shift(images: np.ndarray, dy: float, dx: float) -> np.ndarray:
        """Shift a batch `(N, H, W, C)` by fractions `dy`, `dx` of its size, repeating edge pixels."""
        h, w = images.shape[1], images.shape[2]
        py, px = int(round(abs(dy) * h)), int(round(abs(dx) * w))
        padded = np.pad(images, ((0, 0), (py, py), (px, px), (0, 0)), mode="edge")
        # A positive shift moves content down/right, so the crop starts before the original origin.
        y0 = py - int(np.sign(dy)) * py
        x0 = px - int(np.sign(dx)) * px
        return padded[:, y0 : y0 + h, x0 : x0 + w]

    def views(self, images: np.ndarray) -> list[np.ndarray]:
        """The augmented copies of a batch of images `(N, H, W, C)`, the original first."""
        images = np.asarray(images)
        if images.ndim != 4:
            raise KerasftError(
                f"Test-time augmentation needs image batches (N, H, W, C); got shape {images.shape}. "
                "Turn tta off for non-image inputs."
            )
        out = [images]
        if self.flip:
            out.append(images[:, :, ::-1])
        out += [self.shift(images, dy, dx) for dy, dx in self.shifts]
        return out

    def predict_batch(self, model, images: np.ndarray) -> np.ndarray:
        """Mean of `model`'s predictions over the views of one batch."""
        views = self.views(images)
        # One forward pass over all views together is cheaper than one per view.
        stacked = np.concatenate(views, axis=0)
        preds = np.asarray(model.predict_on_batch(stacked))
        return preds.reshape(len(views), len(images), *preds.shape[1:]).mean(axis=0)

    def predict(self, model, images: np.ndarray, batch_size: int = 32) -> np.ndarray:
        """Mean of `model`'s predictions over the views of every image in an array."""
        images = np.asarray(images)
        chunks = [
            self.predict_batch(model, images[i : i + batch_size])
            for i in range(0, len(images), batch_size)
        ]
        return np.concatenate(chunks, axis=0)

    def get_config(self) -> dict:
        return {"flip": self.flip, "shifts": [list(s) for s in self.shifts]}

    @classmethod
    def from_config(cls, config: dict) -> TestTimeAugmentation:
        return cls(**config)

    def __repr__(self) -> str:
        return f"TestTimeAugmentation(flip={self.flip}, shifts={list(self.shifts)})"
