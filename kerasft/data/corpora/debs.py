"""Unpack Debian packages for a corpus, then move the finished corpus folder into place.

`unpacked(name, packages)` finds each package's `.deb` in a folder the user gives (offline) or
downloads it with the private apt of `kerasft.data.corpora.apt`, unpacks it into a scratch
folder next to the corpus and removes the scratch (and the downloads) when done. `publish`
moves a staging folder over the target in one rename, so an interrupted run never leaves a
half-written folder that would pass for a prepared one.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

from kerasft.data.corpora import apt
from kerasft.errors import KerasftError
from kerasft.paths import kerasft_data_dir


def offline_hint(name: str, packages: Sequence[str]) -> str:
    """What to do where apt cannot download: fetch the `.deb` files elsewhere, pass `--debs`.

    Args:
        name: the corpus name, e.g. 'drums'.
        packages: the Debian packages it reads.
    """
    return (
        f"Download them where apt works (`apt-get download {' '.join(packages)}`) and run "
        f"`kerasft data prepare {name} --debs DIR`."
    )


@contextlib.contextmanager
def unpacked(
    name: str,
    packages: Sequence[str],
    debs: str | Path | None = None,
    *,
    verbose: bool = True,
) -> Iterator[dict[str, Path]]:
    """Yield `{package: folder}` of the unpacked packages; the scratch is removed afterwards.

    Args:
        name: the corpus name (names the scratch folders and the error messages).
        packages: the Debian packages to unpack.
        debs: a folder holding `<package>_*.deb` files to use instead of downloading; None
            downloads them into a scratch folder with `apt-get download`.
        verbose: print a line per download.
    """
    data = kerasft_data_dir()
    scratch = data / f".{name}.unpacked"
    shutil.rmtree(scratch, ignore_errors=True)
    hint = offline_hint(name, packages)
    if debs is not None:
        folder = Path(debs).expanduser()
        found = apt.find_debs(folder, packages)
        missing = [p for p in packages if p not in found]
        if missing:
            raise KerasftError(f"no {missing} .deb file in {str(folder)!r}. {hint}")
    else:
        found = apt.download_debs(
            packages, scratch / "debs", work=data / "apt", offline=hint, verbose=verbose
        )
    try:
        yield {p: apt.extract_deb(deb, scratch / "files" / p) for p, deb in found.items()}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def staging_dir(target: Path) -> Path:
    """An empty `<target>.partial` folder to write the corpus into.

    Args:
        target: the corpus folder it will replace.
    """
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    return staging


def publish(staging: Path, target: Path, info: dict) -> Path:
    """Write `info.json` into `staging`, then move it over `target`; return `target`.

    Args:
        staging: the finished corpus folder.
        target: where it goes (replaced when present).
        info: what goes into `info.json`.
    """
    (staging / "info.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


def read_info(target: Path) -> dict | None:
    """The prepared corpus's `info.json` as a dict, or None when it is not prepared.

    Args:
        target: the corpus folder.
    """
    try:
        return json.loads((target / "info.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
