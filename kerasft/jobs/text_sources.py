"""Which `data:` sources of a job hold texts, without TensorFlow and without reading them.

A job trains a text model when its data is a folder whose class folders hold `.txt` files
(and no images), a CSV with a `text_col` column and no `path_col` column, or one of the
corpora `kerasft data prepare` writes (`bbc_news`, `debian_descriptions`). `kerasft.config`
asks this before anything loads, to lay the text recipe's defaults under the user's keys.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

from kerasft.errors import KerasftError
from kerasft.paths import kerasft_data_dir

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")
TEXT_SUFFIXES = (".txt",)
# Prepared corpora: name -> (path under the data dir, kind).
CORPORA = {
    "bbc_news": ("bbc_news", "text_folder"),
    "debian_descriptions": ("debian_descriptions/texts.csv", "text_csv"),
}


def corpus_path(name: str) -> Path:
    """Where `kerasft data prepare NAME` put a corpus, or a `KerasftError` saying to run it."""
    relative, _ = CORPORA[name]
    path = kerasft_data_dir() / relative
    if not path.exists():
        raise KerasftError(
            f"data={name!r} is not prepared yet ({path} does not exist). Run "
            f"`kerasft data prepare {name}` once."
        )
    return path


def holds(directory: Path, suffixes: tuple[str, ...]) -> bool:
    """True when a file under `directory` (hidden ones aside) ends with one of `suffixes`.

    Args:
        directory: a folder tree.
        suffixes: lower-case file endings.
    """
    for _, dirs, files in os.walk(directory):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        if any(f.lower().endswith(suffixes) and not f.startswith(".") for f in files):
            return True
    return False


def is_text_folder(directory: str | os.PathLike) -> bool:
    """True when the folder's class folders hold `.txt` files and no images.

    Args:
        directory: a class-folder tree.
    """
    directory = Path(directory)
    return holds(directory, TEXT_SUFFIXES) and not holds(directory, IMAGE_SUFFIXES)


def csv_columns(path: str | os.PathLike) -> list[str]:
    """The header row of a CSV file ([] if it cannot be read)."""
    try:
        with open(path, newline="", encoding="utf-8-sig", errors="replace") as f:
            return next(csv.reader(f), [])
    except OSError:
        return []


def text_kind(spec, path_col: str = "path", text_col: str = "text") -> str | None:
    """ "text_folder" or "text_csv" if `spec` is a text source, else None (images or unknown).

    Args:
        spec: the job's `data` value.
        path_col: the image-path column a CSV of images has.
        text_col: the text column a CSV of texts has.
    """
    if not isinstance(spec, str):
        return None
    if spec in CORPORA:
        return CORPORA[spec][1]
    path = Path(spec).expanduser()
    if path.is_dir():
        return "text_folder" if is_text_folder(path) else None
    if path.is_file() and path.suffix.lower() == ".csv":
        columns = csv_columns(path)
        if text_col in columns and path_col not in columns:
            return "text_csv"
    return None
