"""`kft.predict_files`: a model's top-k classes, by name, for image files and folders.

Each readable image gets one row: its path, its top-k class names and their probabilities.
A file that cannot be read gets a row too, with empty predictions and the reason in `error`,
so every file asked about appears once in the CSV; it is also named in a warning.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from kerasft.errors import KerasftError
from kerasft.evaluation.tta import TestTimeAugmentation


def class_scores(probabilities: np.ndarray) -> np.ndarray:
    """One score per class: a single sigmoid output `p` becomes the two classes `[1 - p, p]`."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim == 2 and probabilities.shape[1] == 1:
        return np.concatenate([1.0 - probabilities, probabilities], axis=1)
    return probabilities


@dataclass
class FilePredictions:
    """The predictions of `kft.predict_files`: one row per readable file, plus the broken ones.

    Attributes:
        paths: the readable files, in the order of `probabilities`' rows.
        probabilities: the model's outputs `(len(paths), outputs)`.
        class_names: one name per class (for a single sigmoid output: two).
        top_k: how many classes each row names.
        errors: `path -> reason` for the files that could not be read.
        skipped: files in the folders that were not tried (no image extension).
    """

    paths: list[str]
    probabilities: np.ndarray
    class_names: list[str]
    top_k: int = 3
    errors: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    def top(self) -> tuple[np.ndarray, np.ndarray]:
        """`(indices, scores)`, each `(len(paths), top_k)`, best class first."""
        scores = class_scores(self.probabilities)
        order = np.argsort(-scores, axis=1, kind="stable")[:, : self.top_k]
        return order, np.take_along_axis(scores, order, axis=1)

    @property
    def columns(self) -> list[str]:
        """The CSV header: path, top1, p1, ..., topK, pK, error."""
        names = ["path"]
        for k in range(1, self.top_k + 1):
            names += [f"top{k}", f"p{k}"]
        return [*names, "error"]

    def rows(self) -> list[dict]:
        """One dict per file: the readable files first, then the broken ones (with `error`)."""
        order, scores = self.top()
        rows = []
        for path, classes, probs in zip(self.paths, order, scores, strict=True):
            row = {"path": path}
            for k, (c, p) in enumerate(zip(classes, probs, strict=True), start=1):
                row[f"top{k}"], row[f"p{k}"] = self.class_names[c], float(p)
            rows.append({**row, "error": ""})
        blank = {c: "" for c in self.columns}
        rows += [{**blank, "path": path, "error": why} for path, why in self.errors.items()]
        return rows

    def write_csv(self, path: str | os.PathLike) -> None:
        """Write `rows()` as CSV (probabilities with 6 decimals).

        Args:
            path: the CSV file to write.
        """
        with open(path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=self.columns)
            writer.writeheader()
            for row in self.rows():
                writer.writerow(
                    {k: f"{v:.6f}" if isinstance(v, float) else v for k, v in row.items()}
                )

    def table(self, max_rows: int | None = 20) -> str:
        """The first `max_rows` predicted rows as an aligned text table.

        Args:
            max_rows: rows shown (None: all); a last line counts the rest.
        """
        rows = self.rows()[: len(self.paths)]
        shown = rows if max_rows is None else rows[:max_rows]
        header = [c for c in self.columns if c != "error"]
        cells = [header] + [
            [f"{r[c]:.4f}" if isinstance(r[c], float) else str(r[c]) for c in header] for r in shown
        ]
        widths = [max(len(line[i]) for line in cells) for i in range(len(header))]
        lines = ["  ".join(v.ljust(w) for v, w in zip(line, widths)).rstrip() for line in cells]
        if len(shown) < len(rows):
            lines.append(f"... {len(rows) - len(shown)} more rows")
        return "\n".join(lines)


def predict_files(
    model,
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    top_k: int = 3,
    class_names: Sequence[str] | None = None,
    tta: bool | TestTimeAugmentation = False,
    batch_size: int = 32,
    image_size: int | tuple[int, int] | None = None,
) -> FilePredictions:
    """The top-k classes, by name, of `model` for image files and folders (searched recursively).

    Images of any size are resized to the model's input; see `kft.predict` for a model whose
    input size is free. Unreadable files do not stop the run: they are listed in `errors`
    (and named in a `kerasft.data.SkippedFilesWarning`).

    Args:
        model: a Keras model, or a `.keras` file or run directory (its class names are used).
        paths: image files and folders, one path or a list.
        top_k: classes per image, capped at the number of classes.
        class_names: the names of the classes, in output order (default: the model file's,
            else "0", "1", ...).
        tta: average over test-time views: True for the default views, or a
            `TestTimeAugmentation`.
        batch_size: images per batch.
        image_size: for a model of free input size, the size to resize the images to.

    Example:

    >>> import os, tempfile, keras, numpy as np
    >>> from PIL import Image
    >>> import kerasft as kft
    >>> folder = tempfile.mkdtemp()
    >>> Image.fromarray(np.zeros((40, 40, 3), "uint8")).save(os.path.join(folder, "a.png"))
    >>> _ = open(os.path.join(folder, "b.jpg"), "w").write("not a photo")
    >>> model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(),
    ...                           keras.layers.Dense(3, activation="softmax")])
    >>> result = kft.predict_files(model, folder, top_k=2, class_names=["cat", "dog", "fox"])
    >>> result.columns
    ['path', 'top1', 'p1', 'top2', 'p2', 'error']
    >>> result.rows()[0]["top1"] in {"cat", "dog", "fox"}, list(result.errors.values())
    (True, ['not an image file'])
    """
    from kerasft.data.files import warn_skipped
    from kerasft.data.image_files import as_path_list, find_images
    from kerasft.data.model_input import model_image_size
    from kerasft.evaluation.predict import predict_checked_files, resolve_tta

    recorded = None
    if isinstance(model, (str, os.PathLike)):
        from kerasft import model_file

        loaded = model_file.load(model)
        model, recorded = loaded.model, loaded.image_size
        if class_names is None:
            class_names = loaded.class_names
    path_list = as_path_list(paths)
    if path_list is None:
        raise KerasftError(
            f"paths must be a path or a list of paths of images or folders; got "
            f"{type(paths).__name__}. For arrays use kft.predict(model, x)."
        )
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise KerasftError(f"top_k={top_k!r}: give a positive number of classes, e.g. 3.")
    found = find_images(path_list)
    errors = {c.path: c.reason for c in found.broken}
    warn_skipped(errors, stacklevel=3)
    size = model_image_size(model, image_size, recorded)
    if found.readable:
        probs = predict_checked_files(model, found.readable, size, resolve_tta(tta), batch_size)
    else:
        units = int(model.outputs[0].shape[-1])
        probs = np.zeros((0, units), np.float32)
    num_classes = class_scores(probs[:1]).shape[-1]
    if class_names is None:
        class_names = [str(i) for i in range(num_classes)]
    class_names = [str(c) for c in class_names]
    if len(class_names) != num_classes:
        raise KerasftError(
            f"{len(class_names)} class names for a model with {num_classes} classes; give one "
            "name per model output (for one sigmoid output: two names, negative first)."
        )
    return FilePredictions(
        paths=[c.path for c in found.readable],
        probabilities=probs,
        class_names=class_names,
        top_k=min(top_k, num_classes),
        errors=errors,
        skipped=found.skipped,
    )
