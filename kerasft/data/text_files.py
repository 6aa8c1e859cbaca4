"""Read text documents, leaving out the unreadable and the empty ones with one warning.

A file that is not valid text in its encoding, or that cannot be read, and a text that is empty
or only whitespace, is skipped: listed once in a `SkippedFilesWarning` and returned in
`skipped` (key: the path, or the row / index it came from), never passed on to a model.

>>> import os, tempfile
>>> from kerasft.data.text_files import read_texts
>>> folder = tempfile.mkdtemp()
>>> for name, data in (("a.txt", "Hello"), ("b.txt", "  \\n"), ("c.txt", "\\xa315m")):
...     _ = open(os.path.join(folder, name), "wb").write(data.encode("latin-1"))
>>> paths = [os.path.join(folder, n) for n in ("a.txt", "b.txt", "c.txt")]
>>> texts, keep, skipped = read_texts(paths, warn=False)
>>> texts, keep.tolist(), sorted(os.path.basename(p) for p in skipped)
(['Hello'], [True, False, False], ['b.txt', 'c.txt'])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kerasft.data.files import warn_skipped

EMPTY = "empty text"
WHAT = "unreadable or empty text(s)"


def decode_text(data: bytes, encoding: str = "utf-8") -> str:
    """`data` decoded strictly, without a leading byte-order mark.

    Args:
        data: the file's bytes.
        encoding: their encoding.
    """
    text = data.decode(encoding)
    # Editors on Windows start UTF-8 files with a BOM; it is not part of the text.
    return text[1:] if text.startswith("\ufeff") else text


def read_texts(
    paths: Sequence[str], encoding: str = "utf-8", *, warn: bool = True
) -> tuple[list[str], np.ndarray, dict[str, str]]:
    """`(texts, keep, skipped)`: the readable, non-empty texts of `paths`, in order.

    Args:
        paths: the files.
        encoding: their encoding (strict: one bad byte skips the file).
        warn: emit one `SkippedFilesWarning` listing what was skipped.
    """
    texts, keep, skipped = [], np.zeros(len(paths), dtype=bool), {}
    for i, path in enumerate(paths):
        try:
            with open(path, "rb") as handle:
                text = decode_text(handle.read(), encoding)
        except UnicodeDecodeError as err:
            skipped[path] = (
                f"not {encoding} text (byte 0x{err.object[err.start]:02x} at offset {err.start})"
            )
            continue
        except OSError as err:
            skipped[path] = err.strerror or str(err)
            continue
        if not text.strip():
            skipped[path] = EMPTY
            continue
        texts.append(text)
        keep[i] = True
    if warn:
        warn_skipped(skipped, what=WHAT)
    return texts, keep, skipped


def check_texts(
    values: Sequence, names: Sequence[str], *, warn: bool = True
) -> tuple[list[str], np.ndarray, dict[str, str]]:
    """`(texts, keep, skipped)` for texts given as values (a CSV column, an array).

    `None`, NaN and whitespace-only values are skipped under `names[i]`; `bytes` are decoded as
    UTF-8 (skipped when they are not).

    Args:
        values: the texts.
        names: what to call each value in `skipped`, e.g. 'texts.csv row 3'.
        warn: emit one `SkippedFilesWarning` listing what was skipped.
    """
    from kerasft.errors import KerasftError

    texts, keep, skipped = [], np.zeros(len(values), dtype=bool), {}
    for i, value in enumerate(values):
        if isinstance(value, (bytes, np.bytes_)):
            try:
                value = decode_text(bytes(value))
            except UnicodeDecodeError:
                skipped[names[i]] = "not utf-8 text"
                continue
        if value is None or (isinstance(value, float) and value != value):
            skipped[names[i]] = "missing text"
            continue
        if not isinstance(value, (str, np.str_)):
            raise KerasftError(
                f"{names[i]} is {value!r} ({type(value).__name__}); texts must be strings."
            )
        if not value.strip():
            skipped[names[i]] = EMPTY
            continue
        texts.append(str(value))
        keep[i] = True
    if warn:
        warn_skipped(skipped, what=WHAT)
    return texts, keep, skipped
