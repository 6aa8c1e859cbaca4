"""Which `data:` sources of a job hold audio, without TensorFlow and without reading them.

A job trains an audio model when its data is a folder whose class folders hold audio files
(`.wav`, `.flac`, `.ogg`, ...) and no images, a CSV whose `path_col` column names audio
files, or one of the recording sets `kerasft data prepare` writes (`drums`,
`spoken_languages`, `prompts`). `kerasft.config` asks this before anything loads, to lay the
audio recipe's defaults under the user's keys.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

from kerasft.jobs.text_sources import IMAGE_SUFFIXES, holds
from kerasft.paths import kerasft_data_dir

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".aiff", ".aif")
#: Prepared recording sets: name -> path under the data dir (class folders).
AUDIO_CORPORA = {
    "drums": "drums",
    "spoken_languages": "spoken_languages",
    "prompts": "prompts",
}


def audio_corpus_path(name: str) -> Path:
    """Where `kerasft data prepare NAME` put a recording set (it may not exist yet).

    Args:
        name: one of `AUDIO_CORPORA`.
    """
    return kerasft_data_dir() / AUDIO_CORPORA[name]


def is_audio_folder(directory: str | os.PathLike) -> bool:
    """True when the folder's class folders hold audio files and no images.

    Args:
        directory: a class-folder tree.
    """
    directory = Path(directory)
    return holds(directory, AUDIO_SUFFIXES) and not holds(directory, IMAGE_SUFFIXES)


def is_audio_csv(path: str | os.PathLike, path_col: str = "path", rows: int = 20) -> bool:
    """True when the first `rows` non-empty paths of the CSV's `path_col` are audio files.

    Args:
        path: a CSV file.
        path_col: its column of file paths.
        rows: how many rows to look at.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig", errors="replace") as f:
            values = []
            for row in csv.DictReader(f):
                value = (row.get(path_col) or "").strip()
                if value:
                    values.append(value.lower())
                if len(values) >= rows:
                    break
    except OSError:
        return False
    return bool(values) and all(value.endswith(AUDIO_SUFFIXES) for value in values)


def audio_kind(spec, path_col: str = "path") -> str | None:
    """ "audio_folder" or "audio_csv" if `spec` is an audio source, else None.

    Args:
        spec: the job's `data` value.
        path_col: the file-path column of a CSV.
    """
    if not isinstance(spec, str):
        return None
    if spec in AUDIO_CORPORA:
        return "audio_folder"
    path = Path(spec).expanduser()
    if path.is_dir():
        return "audio_folder" if is_audio_folder(path) else None
    if path.is_file() and path.suffix.lower() == ".csv" and is_audio_csv(path, path_col):
        return "audio_csv"
    return None
