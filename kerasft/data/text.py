"""Text classification data -> batched `(tf.string, labels)` splits: folders, CSV files, arrays.

Every loader returns a `DataSplits` whose `.train`, `.val`, `.test` are `tf.data.Dataset`s of
`(texts, labels)` batches (texts: `tf.string` of shape (B,); labels: int64 class indices, or
float32 multi-hot rows for multilabel data), whose `.arrays` holds the same splits as NumPy
arrays (what hash-exact feature caching keys on), and whose `.info` is a `DatasetInfo` with
`modality='text'`. Splits are stratified by class (`kft.data.split_indices`).

>>> import numpy as np
>>> from kerasft.data.text import from_text_arrays
>>> texts = [f"good film {i}" for i in range(8)] + [f"bad film {i}" for i in range(4)]
>>> labels = ["pos"] * 8 + ["neg"] * 4
>>> data = from_text_arrays(texts, labels, validation_split=0.25, batch_size=4, seed=0)
>>> data.info.class_names, data.info.split_counts["val"]
(['neg', 'pos'], {'neg': 1, 'pos': 2})
>>> x, y = next(iter(data.val))
>>> x.dtype.name, x.shape.as_list(), y.numpy().tolist()
('string', [3], [1, 1, 0])
>>> data.arrays["val"][0].tolist()
['good film 4', 'good film 6', 'bad film 2']
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from kerasft.data.class_folders import list_class_folders
from kerasft.data.data_splits import DataSplits, from_arrays
from kerasft.data.info import DatasetInfo
from kerasft.data.labels import class_counts, encode_labels
from kerasft.data.splits import DEFAULT_SEED, chosen_splits
from kerasft.data.table import column, read_table, table_labels
from kerasft.data.text_files import check_texts, read_texts
from kerasft.errors import KerasftError

TEXT_EXTENSIONS = (".txt",)
SPLITS = ("train", "val", "test")


def assemble_texts(
    texts: Sequence[str],
    labels: np.ndarray,
    *,
    class_names: list[str],
    multilabel: bool,
    source: str,
    skipped: dict[str, str],
    batch_size: int = 32,
    validation_split: float | None = 0.1,
    test_split: float | None = 0.0,
    seed: int | None = DEFAULT_SEED,
    stratify: bool = True,
    shuffle: bool = True,
) -> DataSplits:
    """Split, count and batch texts that are already checked and labeled.

    Args:
        texts: the documents, one `str` each.
        labels: int64 class indices (N,) or float32 multi-hot rows (N, K).
        class_names: the classes in label-index order.
        multilabel: True when `labels` are multi-hot rows.
        source: where the texts came from, e.g. 'folder:/data/bbc_news'.
        skipped: what was left out, for `info.skipped`.
        batch_size: texts per batch.
        validation_split: fraction held out for validation, stratified by class.
        test_split: fraction held out for testing.
        seed: seeds the split and the training shuffle.
        stratify: keep each class's share in every split.
        shuffle: reshuffle the training split every epoch.
    """
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise KerasftError(f"batch_size={batch_size!r} must be a positive integer.")
    if len(texts) == 0:
        raise KerasftError(f"no usable texts in {source} (all {len(skipped)} were skipped).")
    if not multilabel:
        present = np.bincount(labels, minlength=len(class_names))
        empty = [class_names[i] for i in np.flatnonzero(present == 0)]
        if empty:
            raise KerasftError(
                f"class(es) {empty} have no usable texts in {source}; add texts or remove the "
                "class."
            )
    array = np.empty(len(texts), dtype=object)
    array[:] = list(texts)
    chosen = chosen_splits(labels, validation_split, test_split, seed, stratify)
    arrays = {name: (array[idx], labels[idx]) for name, idx in chosen.items()}
    split_counts = {name: class_counts(y, class_names) for name, (_, y) in arrays.items()}
    info = DatasetInfo(
        class_names=class_names,
        class_counts=class_counts(labels[np.concatenate(list(chosen.values()))], class_names),
        split_counts=split_counts,
        image_size=None,
        channels=None,
        num_examples=int(sum(len(i) for i in chosen.values())),
        multilabel=multilabel,
        skipped=dict(skipped),
        source=source,
        modality="text",
    )
    return from_arrays(arrays, info, batch_size=batch_size, shuffle=shuffle, seed=seed)


def from_text_folder(
    directory: str | os.PathLike,
    *,
    validation_split: float | None = 0.1,
    test_split: float | None = 0.0,
    seed: int | None = DEFAULT_SEED,
    batch_size: int = 32,
    class_names: Sequence[str] | None = None,
    encoding: str = "utf-8",
    follow_links: bool = False,
    **options,
) -> DataSplits:
    """Load a folder with one sub-folder of `.txt` files per class.

    Files that are not valid `encoding` text and empty (or whitespace-only) files are skipped
    with one `SkippedFilesWarning` listing them (`info.skipped`).

    Args:
        directory: the root folder; its sub-folders are the classes (sorted by name).
        validation_split: fraction held out for validation, stratified by class.
        test_split: fraction held out for testing.
        seed: seeds the split and the training shuffle.
        batch_size: texts per batch.
        class_names: only these sub-folders, in this order.
        encoding: the files' encoding.
        follow_links: follow symbolic links to folders.
        **options: `shuffle=True`, `stratify=True`.

    Example:

    ```python
    data = kft.data.from_text_folder("bbc_news/", validation_split=0.1, test_split=0.1)
    data.info.class_names, data.arrays["train"][0][:2]
    ```
    """
    names, paths, labels = list_class_folders(
        directory, class_names, follow_links, extensions=TEXT_EXTENSIONS, kind="text"
    )
    texts, keep, skipped = read_texts(paths, encoding)
    return assemble_texts(
        texts,
        labels[keep],
        class_names=names,
        multilabel=False,
        source=f"folder:{os.fspath(directory)}",
        skipped=skipped,
        batch_size=batch_size,
        validation_split=validation_split,
        test_split=test_split,
        seed=seed,
        **options,
    )


def from_text_csv(
    path_or_dataframe,
    text_col: str = "text",
    label_col: str | Sequence[str] = "label",
    *,
    label_sep: str | None = None,
    validation_split: float | None = 0.1,
    test_split: float | None = 0.0,
    seed: int | None = DEFAULT_SEED,
    batch_size: int = 32,
    class_names: Sequence[str] | None = None,
    encoding: str = "utf-8-sig",
    **options,
) -> DataSplits:
    """Load texts and labels from a CSV file (with a header row) or a pandas DataFrame.

    Rows whose text is missing or whitespace-only are skipped with one `SkippedFilesWarning`
    (`info.skipped` names them 'FILE row N', N counting data rows from 1).

    Args:
        path_or_dataframe: the CSV path or a DataFrame.
        text_col: the column of texts.
        label_col: the label column (class names or indices), or a list of 0/1 columns, one
            per class, for multilabel data.
        label_sep: for multilabel data in one column, the separator between labels, e.g. '|';
            labels become multi-hot float32 rows.
        validation_split: fraction held out for validation, stratified by class.
        test_split: fraction held out for testing.
        seed: seeds the split and the training shuffle.
        batch_size: texts per batch.
        class_names: the classes, in label-index order (default: sorted names found).
        encoding: the CSV file's encoding.
        **options: `shuffle=True`, `stratify=True`.

    Example:

    ```python
    data = kft.data.from_text_csv("texts.csv", text_col="text", label_col="label")
    tags = kft.data.from_text_csv("posts.csv", label_col="tags", label_sep="|")  # multilabel
    ```
    """
    columns, _, where = read_table(path_or_dataframe, encoding=encoding)
    values = column(columns, text_col, "text_col", where)
    if isinstance(label_col, str) and label_col == text_col:
        raise KerasftError(f"text_col and label_col are both {text_col!r}; name two columns.")
    labels, names, multilabel = table_labels(columns, label_col, where, label_sep, class_names)
    label = os.path.basename(where) if where != "DataFrame" else where
    texts, keep, skipped = check_texts(values, [f"{label} row {i + 1}" for i in range(len(values))])
    return assemble_texts(
        texts,
        labels[keep],
        class_names=names,
        multilabel=multilabel,
        source=f"csv:{where}",
        skipped=skipped,
        batch_size=batch_size,
        validation_split=validation_split,
        test_split=test_split,
        seed=seed,
        **options,
    )


def from_text_arrays(
    texts: Sequence[str],
    labels,
    *,
    class_names: Sequence[str] | None = None,
    label_sep: str | None = None,
    multilabel: bool | None = None,
    validation_split: float | None = 0.1,
    test_split: float | None = 0.0,
    seed: int | None = DEFAULT_SEED,
    batch_size: int = 32,
    **options,
) -> DataSplits:
    """Split texts given as a list (or array) of strings, with one label each.

    Missing (None, NaN) and whitespace-only texts are skipped with one `SkippedFilesWarning`
    (`info.skipped` names them 'texts[i]').

    Args:
        texts: the documents.
        labels: class names, class indices, one-hot or multi-hot rows, or lists of names.
        class_names: the classes, in label-index order.
        label_sep: the separator of several names in one label string, e.g. '|' (multilabel).
        multilabel: force multilabel (True) or single-label (False); None infers it.
        validation_split: fraction held out for validation, stratified by class.
        test_split: fraction held out for testing.
        seed: seeds the split and the training shuffle.
        batch_size: texts per batch.
        **options: `shuffle=True`, `stratify=True`.
    """
    texts = list(texts.tolist() if isinstance(texts, np.ndarray) else texts)
    labels = labels if isinstance(labels, np.ndarray) else list(labels)
    if len(labels) != len(texts):
        raise KerasftError(
            f"got {len(texts)} texts but {len(labels)} labels; give exactly one label per text."
        )
    y, names, is_multilabel = encode_labels(
        labels, class_names=class_names, multilabel=multilabel, sep=label_sep
    )
    if not is_multilabel and len(names) < 2:
        raise KerasftError(f"the labels hold one class ({names[0]!r}); a classifier needs two.")
    kept, keep, skipped = check_texts(texts, [f"texts[{i}]" for i in range(len(texts))])
    return assemble_texts(
        kept,
        y[keep],
        class_names=names,
        multilabel=is_multilabel,
        source="arrays",
        skipped=skipped,
        batch_size=batch_size,
        validation_split=validation_split,
        test_split=test_split,
        seed=seed,
        **options,
    )
