"""`from_csv`: a CSV file or DataFrame of image paths and labels (single- or multi-label)."""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Sequence

import numpy as np

from kerasft.data.data_splits import DataSplits
from kerasft.data.files import load_files
from kerasft.data.labels import encode_labels
from kerasft.data.splits import DEFAULT_SEED
from kerasft.errors import KerasftError, did_you_mean


def read_table(path_or_dataframe, encoding: str = "utf-8-sig") -> tuple[dict[str, list], str, str]:
    """Columns as lists, the default root and a name for messages.

    Args:
        path_or_dataframe: a CSV path (with a header row) or a pandas DataFrame.
        encoding: the CSV file's encoding.
    """
    if hasattr(path_or_dataframe, "columns") and hasattr(path_or_dataframe, "to_dict"):
        frame = path_or_dataframe
        columns = {str(c): frame[c].tolist() for c in frame.columns}
        return columns, os.getcwd(), "DataFrame"
    path = os.fspath(path_or_dataframe)
    if not os.path.isfile(path):
        raise KerasftError(f"CSV file {path!r} does not exist.")
    try:
        with open(path, newline="", encoding=encoding) as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames:
                raise KerasftError(f"CSV file {path!r} is empty; it needs a header row.")
            columns = {name: [] for name in reader.fieldnames}
            for row in reader:
                for name in reader.fieldnames:
                    columns[name].append(row.get(name))
    except UnicodeDecodeError as err:
        raise KerasftError(
            f"CSV file {path!r} is not {encoding} text ({err}); pass its encoding, e.g. "
            "encoding='latin-1', or convert it to UTF-8."
        ) from None
    return columns, os.path.dirname(os.path.abspath(path)), path


def column(columns: dict[str, list], name: str, what: str, where: str) -> list:
    if name not in columns:
        raise KerasftError(
            f"{what}={name!r} is not a column of {where}.{did_you_mean(name, columns)} "
            f"Columns: {', '.join(columns)}."
        )
    return columns[name]


def _is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value == ""


def from_csv(
    path_or_dataframe,
    path_col: str = "path",
    label_col: str | Sequence[str] = "label",
    root: str | os.PathLike | None = None,
    image_size: tuple[int, int] | int | None = None,
    batch_size: int = 32,
    validation_split: float | None = None,
    test_split: float | None = None,
    seed: int | None = DEFAULT_SEED,
    *,
    label_sep: str | None = None,
    class_names: Sequence[str] | None = None,
    num_threads: int | None = None,
    **options,
) -> DataSplits:
    """Load images listed in a CSV file (or pandas DataFrame) of path and label columns.

    Args:
        path_or_dataframe: a CSV path (with a header row) or a DataFrame.
        path_col: the column of image paths; relative paths are read from `root`.
        label_col: the label column (class names or indices), or a list of 0/1 columns, one
            per class, for multilabel data.
        root: folder relative paths start from; default: the CSV's folder (the working
            directory for a DataFrame).
        label_sep: for multilabel data in one column, the separator between labels,
            e.g. '|' for 'cat|dog'; labels become multi-hot float32 rows.
        class_names: the classes, in label-index order (default: sorted names found).
        image_size, batch_size, validation_split, test_split, seed, num_threads, **options: as
            for `from_folder`. Missing and unreadable files are skipped with one warning
            (`info.skipped`).

    Example:

    ```python
    # labels.csv: path,label \\n img/1.jpg,cat \\n img/2.jpg,dog
    data = kft.data.from_csv("labels.csv", image_size=96, validation_split=0.2)
    tags = kft.data.from_csv(frame, label_col="tags", label_sep="|")   # multilabel
    ```
    """
    columns, default_root, where = read_table(path_or_dataframe)
    raw_paths = column(columns, path_col, "path_col", where)
    root = os.fspath(root) if root is not None else default_root
    missing_path = [i for i, p in enumerate(raw_paths) if _is_missing(p)]
    if missing_path:
        raise KerasftError(
            f"{path_col!r} is empty in row(s) {[i + 1 for i in missing_path[:5]]} of {where}."
        )
    paths = [os.path.join(root, str(p)) for p in raw_paths]
    y, names, multilabel = table_labels(columns, label_col, where, label_sep, class_names)
    return load_files(
        paths,
        y,
        class_names=names,
        multilabel=multilabel,
        source=f"csv:{where}",
        image_size=image_size,
        num_threads=num_threads,
        batch_size=batch_size,
        validation_split=validation_split,
        test_split=test_split,
        seed=seed,
        **options,
    )


def table_labels(
    columns: dict[str, list],
    label_col: str | Sequence[str],
    where: str,
    label_sep: str | None = None,
    class_names: Sequence[str] | None = None,
) -> tuple[np.ndarray, list[str], bool]:
    """The encoded labels of a table: `(labels, class_names, multilabel)`, as `encode_labels`.

    Args:
        columns: the table's columns, as `read_table` returns them.
        label_col: one label column, or a list of 0/1 columns (one per class) for multilabel.
        where: the table's name, for messages.
        label_sep: the separator of several labels in one column, e.g. '|' (multilabel).
        class_names: the classes in label-index order (default: sorted names found).
    """
    if isinstance(label_col, str):
        raw_labels = column(columns, label_col, "label_col", where)
        if label_sep is None:
            empty = [i for i, v in enumerate(raw_labels) if _is_missing(v)]
            if empty:
                raise KerasftError(
                    f"{label_col!r} is empty or NaN in row(s) {[i + 1 for i in empty[:5]]} "
                    f"of {where}; fix or drop those rows."
                )
            if all(isinstance(v, str) for v in raw_labels) and all(
                v.strip().lstrip("-").isdigit() for v in raw_labels
            ):
                # Indices read from a CSV are text; keep them as numbers.
                raw_labels = [int(v) for v in raw_labels]
            y, names, multilabel = encode_labels(raw_labels, class_names=class_names)
        else:
            rows = [
                [] if _is_missing(v) else [p.strip() for p in str(v).split(label_sep) if p.strip()]
                for v in raw_labels
            ]
            y, names, multilabel = encode_labels(rows, class_names=class_names, multilabel=True)
    else:
        label_cols = list(label_col)
        matrix = np.array(
            [[_to_number(v) for v in column(columns, c, "label_col", where)] for c in label_cols],
            dtype=np.float64,
        ).T
        y, names, multilabel = encode_labels(
            matrix, class_names=class_names or label_cols, multilabel=True
        )
    if not multilabel and len(names) < 2:
        raise KerasftError(
            f"{where} has only one class ({names[0]!r}); a classifier needs at least two."
        )
    return y, names, multilabel


def _to_number(value) -> float:
    if _is_missing(value):
        return float("nan")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise KerasftError(f"label column values must be 0 or 1; got {value!r}.") from None
