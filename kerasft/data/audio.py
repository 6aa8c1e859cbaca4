"""Audio classification data -> batched `(waveforms, labels)` splits: class folders, CSV files.

Every loader returns a `DataSplits` whose `.train`, `.val`, `.test` are `tf.data.Dataset`s of
`(waveforms, labels)` batches (waveforms: float32 of shape (B, samples), mono at
`sample_rate` Hz; labels: int64 class indices, or float32 multi-hot rows for multilabel CSV
data), whose `.arrays` holds the same splits as NumPy arrays, and whose `.info` is a
`DatasetInfo` with `modality='audio'`, `sample_rate` and `clip_seconds`. Splits are stratified
by class (`kft.data.split_indices`).

Every clip gets the same length, `clip_seconds` (default: the 95th percentile of the clips'
durations rounded up to 0.5 s, at least `min_seconds` and at most 10 s). Shorter clips are
zero-padded at the end (a clip keeps its onset at sample 0); longer ones are cropped: at a
random offset in the training split (drawn once per load from `seed`, so two loads with the
same seed are equal) and around the middle in the validation and test splits.

>>> import numpy as np
>>> from kerasft.data.audio import assemble_audio
>>> waves = [np.ones(n, "float32") for n in (8000, 16000, 24000, 40000)]
>>> data = assemble_audio(waves, np.array([0, 1, 0, 1]), class_names=["a", "b"],
...                       source="arrays", skipped={}, validation_split=None)
>>> data.info.clip_seconds, data.arrays["train"][0].shape
(2.5, (4, 40000))
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np

from kerasft.data.audio_files import DEFAULT_SAMPLE_RATE, read_audios
from kerasft.data.class_folders import list_class_folders
from kerasft.data.data_splits import DataSplits, from_arrays
from kerasft.data.info import DatasetInfo
from kerasft.data.labels import class_counts
from kerasft.data.splits import DEFAULT_SEED, chosen_splits
from kerasft.data.table import column, read_table, table_labels
from kerasft.errors import KerasftError

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".aiff", ".aif")
MAX_CLIP_SECONDS = 10.0
# Clip lengths are multiples of this, so nearby data sets share one input length.
CLIP_STEP_SECONDS = 0.5


def clip_seconds_for(
    durations: Sequence[float],
    clip_seconds: float | None = None,
    min_seconds: float = 1.0,
) -> float:
    """The clip length in seconds: `clip_seconds`, or the default rule from `durations`.

    The default is the 95th percentile of `durations` rounded up to a multiple of 0.5 s, then
    at least `min_seconds` and at most 10 s.

    Args:
        durations: the clips' durations in seconds.
        clip_seconds: a length to use as it is (checked to be positive); None applies the rule.
        min_seconds: the shortest default length.

    >>> from kerasft.data.audio import clip_seconds_for
    >>> clip_seconds_for([0.4, 1.2, 1.3, 1.6]), clip_seconds_for([0.2, 0.3])
    (2.0, 1.0)
    """
    if clip_seconds is not None:
        if not isinstance(clip_seconds, (int, float)) or not clip_seconds > 0:
            raise KerasftError(f"clip_seconds={clip_seconds!r} must be a positive number.")
        return float(clip_seconds)
    if not isinstance(min_seconds, (int, float)) or not 0 < min_seconds <= MAX_CLIP_SECONDS:
        raise KerasftError(
            f"min_seconds={min_seconds!r} must be a number in (0, {MAX_CLIP_SECONDS:g}]."
        )
    p95 = float(np.percentile(np.asarray(durations, dtype=np.float64), 95))
    rounded = math.ceil(round(p95 / CLIP_STEP_SECONDS, 6)) * CLIP_STEP_SECONDS
    return float(min(max(rounded, min_seconds), MAX_CLIP_SECONDS))


def fit_length(wave: np.ndarray, length: int, offset: int | None = None) -> np.ndarray:
    """`wave` cropped or zero-padded (at the end) to `length` samples.

    Args:
        wave: 1-D samples.
        length: the samples wanted.
        offset: where a crop starts; None crops around the middle.

    >>> import numpy as np
    >>> from kerasft.data.audio import fit_length
    >>> fit_length(np.arange(5.0), 3).tolist(), fit_length(np.arange(2.0), 3).tolist()
    ([1.0, 2.0, 3.0], [0.0, 1.0, 0.0])
    """
    if len(wave) >= length:
        start = (len(wave) - length) // 2 if offset is None else int(offset)
        return wave[start : start + length]
    return np.pad(wave, (0, length - len(wave)))


def _stack(waves: list[np.ndarray], length: int, rng: np.random.Generator | None) -> np.ndarray:
    out = np.zeros((len(waves), length), dtype=np.float32)
    for i, wave in enumerate(waves):
        offset = None
        if rng is not None and len(wave) > length:
            offset = int(rng.integers(0, len(wave) - length + 1))
        out[i] = fit_length(wave, length, offset)
    return out


def assemble_audio(
    waves: Sequence[np.ndarray],
    labels: np.ndarray,
    *,
    class_names: list[str],
    source: str,
    skipped: dict[str, str],
    multilabel: bool = False,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    clip_seconds: float | None = None,
    min_seconds: float = 1.0,
    batch_size: int = 32,
    validation_split: float | None = 0.1,
    test_split: float | None = 0.0,
    seed: int | None = DEFAULT_SEED,
    stratify: bool = True,
    shuffle: bool = True,
) -> DataSplits:
    """Split, cut to one length, count and batch waveforms that are already read and labeled.

    Args:
        waves: mono float32 waveforms at `sample_rate`, any lengths.
        labels: int64 class indices (N,) or float32 multi-hot rows (N, K).
        class_names: the classes in label-index order.
        source: where the clips came from, e.g. 'folder:/data/prompts'.
        skipped: what was left out, for `info.skipped`.
        multilabel: True when `labels` are multi-hot rows.
        sample_rate: the waveforms' sample rate (Hz).
        clip_seconds: the length of every clip; None: the default rule (`clip_seconds_for`).
        min_seconds: the shortest default length.
        batch_size: clips per batch.
        validation_split: fraction held out for validation, stratified by class.
        test_split: fraction held out for testing.
        seed: seeds the split, the training crops and the training shuffle.
        stratify: keep each class's share in every split.
        shuffle: reshuffle the training split every epoch and crop its long clips at random;
            False: centre crops everywhere (evaluation).
    """
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise KerasftError(f"batch_size={batch_size!r} must be a positive integer.")
    if len(waves) == 0:
        raise KerasftError(
            f"no readable audio in {source} (all {len(skipped)} files were skipped)."
        )
    if not multilabel:
        present = np.bincount(labels, minlength=len(class_names))
        empty = [class_names[i] for i in np.flatnonzero(present == 0)]
        if empty:
            raise KerasftError(
                f"class(es) {empty} have no readable audio in {source}; add clips or remove "
                "the class."
            )
    seconds = clip_seconds_for([len(w) / sample_rate for w in waves], clip_seconds, min_seconds)
    length = max(1, round(seconds * sample_rate))
    chosen = chosen_splits(labels, validation_split, test_split, seed, stratify)
    rng = np.random.default_rng(seed)
    arrays = {
        name: (
            _stack([waves[i] for i in idx], length, rng if name == "train" and shuffle else None),
            labels[idx],
        )
        for name, idx in chosen.items()
    }
    info = DatasetInfo(
        class_names=class_names,
        class_counts=class_counts(labels[np.concatenate(list(chosen.values()))], class_names),
        split_counts={name: class_counts(y, class_names) for name, (_, y) in arrays.items()},
        image_size=None,
        channels=None,
        num_examples=int(sum(len(i) for i in chosen.values())),
        multilabel=multilabel,
        skipped=dict(skipped),
        source=source,
        modality="audio",
        sample_rate=sample_rate,
        clip_seconds=seconds,
    )
    return from_arrays(arrays, info, batch_size=batch_size, shuffle=shuffle, seed=seed)


def from_audio_folder(
    directory: str | os.PathLike,
    *,
    validation_split: float | None = 0.1,
    test_split: float | None = 0.0,
    seed: int | None = DEFAULT_SEED,
    batch_size: int = 32,
    class_names: Sequence[str] | None = None,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    clip_seconds: float | None = None,
    min_seconds: float = 1.0,
    follow_links: bool = False,
    **options,
) -> DataSplits:
    """Load a folder with one sub-folder of audio files (WAV, FLAC, OGG, AIFF) per class.

    Files that cannot be read, empty files and files without samples are skipped with one
    `SkippedFilesWarning` listing them (`info.skipped`).

    Args:
        directory: the root folder; its sub-folders are the classes (sorted by name).
        validation_split: fraction held out for validation, stratified by class.
        test_split: fraction held out for testing.
        seed: seeds the split, the training crops and the training shuffle.
        batch_size: clips per batch.
        class_names: only these sub-folders, in this order.
        sample_rate: the sample rate every clip is resampled to (Hz).
        clip_seconds: the length of every clip; None: the 95th percentile of the durations
            rounded up to 0.5 s, between `min_seconds` and 10 s.
        min_seconds: the shortest default clip length.
        follow_links: follow symbolic links to folders.
        **options: `shuffle=True`, `stratify=True`.

    Example:

    ```python
    data = kft.data.from_audio_folder("prompts/", validation_split=0.1, test_split=0.1)
    waves, labels = data.arrays["train"]     # float32 (N, clip samples), int64 (N,)
    ```
    """
    names, paths, labels = list_class_folders(
        directory, class_names, follow_links, extensions=AUDIO_EXTENSIONS, kind="audio"
    )
    waves, keep, skipped = read_audios(paths, sample_rate)
    if not waves:
        raise KerasftError(
            f"no readable audio in folder {os.fspath(directory)!r}: all {len(paths)} files "
            "were skipped (see the warning)."
        )
    return assemble_audio(
        waves,
        labels[keep],
        class_names=names,
        source=f"folder:{os.fspath(directory)}",
        skipped=skipped,
        sample_rate=sample_rate,
        clip_seconds=clip_seconds,
        min_seconds=min_seconds,
        batch_size=batch_size,
        validation_split=validation_split,
        test_split=test_split,
        seed=seed,
        **options,
    )


def from_audio_csv(
    path_or_dataframe,
    path_col: str = "path",
    label_col: str | Sequence[str] = "label",
    *,
    root: str | os.PathLike | None = None,
    label_sep: str | None = None,
    validation_split: float | None = 0.1,
    test_split: float | None = 0.0,
    seed: int | None = DEFAULT_SEED,
    batch_size: int = 32,
    class_names: Sequence[str] | None = None,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    clip_seconds: float | None = None,
    min_seconds: float = 1.0,
    **options,
) -> DataSplits:
    """Load audio files listed in a CSV file (with a header row) or a pandas DataFrame.

    Files that cannot be read (missing ones too), empty files and files without samples are
    skipped with one `SkippedFilesWarning` listing them (`info.skipped`).

    Args:
        path_or_dataframe: the CSV path or a DataFrame.
        path_col: the column of audio file paths; relative paths start at `root`.
        label_col: the label column (class names or indices), or a list of 0/1 columns, one
            per class, for multilabel data.
        root: the folder relative paths start from; default: the CSV's folder (the working
            folder for a DataFrame).
        label_sep: for multilabel data in one column, the separator between labels, e.g. '|'.
        validation_split: fraction held out for validation, stratified by class.
        test_split: fraction held out for testing.
        seed: seeds the split, the training crops and the training shuffle.
        batch_size: clips per batch.
        class_names: the classes, in label-index order (default: sorted names found).
        sample_rate: the sample rate every clip is resampled to (Hz).
        clip_seconds: the length of every clip; None: the default rule (see the module).
        min_seconds: the shortest default clip length.
        **options: `shuffle=True`, `stratify=True`.

    Example:

    ```python
    data = kft.data.from_audio_csv("clips.csv", path_col="path", label_col="label")
    ```
    """
    columns, default_root, where = read_table(path_or_dataframe)
    raw_paths = column(columns, path_col, "path_col", where)
    if isinstance(label_col, str) and label_col == path_col:
        raise KerasftError(f"path_col and label_col are both {path_col!r}; name two columns.")
    root = os.fspath(root) if root is not None else default_root
    empty_rows = [i + 1 for i, p in enumerate(raw_paths) if p is None or str(p).strip() == ""]
    if empty_rows:
        raise KerasftError(f"{path_col!r} is empty in row(s) {empty_rows[:5]} of {where}.")
    paths = [os.path.join(root, str(p)) for p in raw_paths]
    labels, names, multilabel = table_labels(columns, label_col, where, label_sep, class_names)
    waves, keep, skipped = read_audios(paths, sample_rate)
    if not waves:
        raise KerasftError(
            f"no readable audio among the {len(paths)} files {where} lists (root {root!r}); "
            "all were skipped (see the warning)."
        )
    return assemble_audio(
        waves,
        labels[keep],
        class_names=names,
        multilabel=multilabel,
        source=f"csv:{where}",
        skipped=skipped,
        sample_rate=sample_rate,
        clip_seconds=clip_seconds,
        min_seconds=min_seconds,
        batch_size=batch_size,
        validation_split=validation_split,
        test_split=test_split,
        seed=seed,
        **options,
    )
