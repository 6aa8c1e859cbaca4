"""A class-folder tree (one sub-folder per class) -> class names, file paths and labels.

Shared by the image and text loaders: `extensions` says which files count (images, `.txt`).

>>> import os, tempfile
>>> from kerasft.data.class_folders import list_class_folders
>>> root = tempfile.mkdtemp()
>>> for name in ("ham/a.txt", "spam/b.txt", "spam/c.txt", "spam/notes.md"):
...     os.makedirs(os.path.dirname(os.path.join(root, name)), exist_ok=True)
...     _ = open(os.path.join(root, name), "w").write("hi")
>>> names, paths, labels = list_class_folders(root, extensions=(".txt",), kind="text")
>>> names, [os.path.basename(p) for p in paths], labels.tolist()
(['ham', 'spam'], ['a.txt', 'b.txt', 'c.txt'], [0, 1, 1])
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from kerasft.errors import KerasftError, did_you_mean


def walk_files(
    directory: str | os.PathLike, extensions: Sequence[str], follow_links: bool = False
) -> list[str]:
    """Files below `directory` whose names end with one of `extensions`, sorted, hidden left out.

    Args:
        directory: the folder to search recursively.
        extensions: lower-case name endings, e.g. ('.txt',); matched case-insensitively.
        follow_links: follow symbolic links to folders.
    """
    found = []
    suffixes = tuple(extensions)
    for root, dirs, files in os.walk(os.fspath(directory), followlinks=follow_links):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and name.lower().endswith(suffixes):
                found.append(os.path.join(root, name))
    return found


def list_class_folders(
    directory: str | os.PathLike,
    class_names: Sequence[str] | None = None,
    follow_links: bool = False,
    *,
    extensions: Sequence[str],
    kind: str = "image",
) -> tuple[list[str], list[str], np.ndarray]:
    """`(class_names, paths, labels)` of a class-folder tree, or a clear `KerasftError`.

    Args:
        directory: the root folder; its sub-folders (sorted by name) are the classes.
        class_names: only these sub-folders, in this order.
        follow_links: follow symbolic links to folders.
        extensions: the file name endings that count, e.g. ('.txt',).
        kind: what the files are, for messages: 'image', 'text' or 'audio'.
    """
    directory = os.fspath(directory)
    examples = {"image": "<image>.jpg", "text": "<document>.txt", "audio": "<clip>.wav"}
    example = examples.get(kind, f"<file>{extensions[0]}")
    if not os.path.isdir(directory):
        raise KerasftError(f"{kind} folder {directory!r} does not exist or is not a directory.")
    subfolders = sorted(
        e.name for e in os.scandir(directory) if e.is_dir() and not e.name.startswith(".")
    )
    if not subfolders:
        loose = [f for f in os.listdir(directory) if f.lower().endswith(tuple(extensions))]
        hint = f" It holds {len(loose)} loose {kind} files;" if loose else ""
        raise KerasftError(
            f"{directory!r} has no class sub-folders.{hint} put the files of each class in "
            f"its own sub-folder: {directory}/<class_name>/{example}."
        )
    if class_names is not None:
        missing = [c for c in class_names if c not in subfolders]
        if missing:
            raise KerasftError(
                f"class folder {missing[0]!r} not found in {directory!r}."
                f"{did_you_mean(missing[0], subfolders)} Sub-folders: {', '.join(subfolders)}."
            )
        names = [str(c) for c in class_names]
    else:
        names = subfolders
    paths, labels, empty = [], [], []
    for index, name in enumerate(names):
        files = walk_files(os.path.join(directory, name), extensions, follow_links)
        if not files:
            empty.append(name)
        paths.extend(files)
        labels.extend([index] * len(files))
    if empty:
        raise KerasftError(
            f"class folder(s) {empty} in {directory!r} hold no {kind} files "
            f"({', '.join(extensions)}); add files or remove the folder(s)."
        )
    if len(names) < 2:
        raise KerasftError(
            f"{directory!r} has only one class folder ({names[0]!r}); a classifier needs at least "
            "two classes, each in its own sub-folder."
        )
    return names, paths, np.asarray(labels, dtype=np.int64)
