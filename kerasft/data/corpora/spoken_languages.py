"""KLettres' spoken letters and syllables (1,836 OGG clips, 20 languages) as class folders.

The clips come from Debian's `klettres-data` (`usr/share/klettres/<language>/{alpha,syllab}/
*.ogg`, about 40 MB), unpacked with `dpkg-deb -x` and never installed. The tree it writes,
`<kerasft data dir>/spoken_languages/<language>/<kind>_<file>.ogg` plus `info.json`, is what
`kft.data.from_audio_folder` reads; `<kind>` ('alpha' or 'syllab') is kept in the name because
a language's letters and syllables share names ('ha.ogg').

Each language is recorded by one speaker, so language and speaker coincide: a classifier may
learn the voice rather than the language. `en` and `en_GB` are two English voices.

    from kerasft.data.corpora.spoken_languages import prepare_spoken_languages
    folder = prepare_spoken_languages()      # then kft.data.from_audio_folder(folder)
"""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

from kerasft.data.corpora import debs as debs_lib
from kerasft.errors import KerasftError
from kerasft.paths import kerasft_data_dir

NAME = "spoken_languages"
PACKAGE = "klettres-data"
ROOT = "usr/share/klettres"
KINDS = ("alpha", "syllab")
SPEAKER_NOTE = (
    "Each language is spoken by one speaker, so language and speaker coincide: a model may "
    "learn the voice, not the language. Evaluate with that in mind."
)


def spoken_languages_dir() -> Path:
    """The prepared folder: `kerasft_data_dir()/spoken_languages`."""
    return kerasft_data_dir() / NAME


def find_clips(root: Path) -> dict[str, list[tuple[Path, str]]]:
    """`{language: [(clip, written name)]}` of KLettres' `.ogg` clips, languages sorted.

    Args:
        root: the unpacked `usr/share/klettres` folder.
    """
    found: dict[str, list[tuple[Path, str]]] = {}
    for language in sorted(p for p in root.iterdir() if p.is_dir()):
        for kind in KINDS:
            for clip in sorted((language / kind).glob("*.ogg")):
                found.setdefault(language.name, []).append((clip, f"{kind}_{clip.name}"))
    return found


def prepare_spoken_languages(
    debs: str | Path | None = None, *, force: bool = False, verbose: bool = True
) -> Path:
    """Write `<data dir>/spoken_languages/<language>/<kind>_<file>.ogg`; return that folder.

    Idempotent: when `info.json` is already there nothing is read or written.

    Args:
        debs: a folder holding `klettres-data_*.deb`; None downloads it with `apt-get download`
            (private lists, nothing installed).
        force: rebuild the folder even when it is already prepared.
        verbose: print one line of what was done.
    """
    target = spoken_languages_dir()
    if debs_lib.read_info(target) is not None and not force:
        if verbose:
            print(f"{NAME}: already prepared in {target}")
        return target
    with debs_lib.unpacked(NAME, [PACKAGE], debs, verbose=verbose) as folders:
        root = folders[PACKAGE] / ROOT
        clips = find_clips(root) if root.is_dir() else {}
        if not clips:
            raise KerasftError(f"{PACKAGE} holds no {ROOT}/<language>/{{alpha,syllab}}/*.ogg.")
        staging = debs_lib.staging_dir(target)
        counts = Counter()
        for language, files in clips.items():
            (staging / language).mkdir()
            for clip, name in files:
                shutil.copyfile(clip, staging / language / name)
                counts[language] += 1
    info = {
        "name": NAME,
        "source": f"Debian package {PACKAGE} ({ROOT}/<language>/{{alpha,syllab}}/*.ogg)",
        "package": PACKAGE,
        "classes": sorted(counts),
        "counts": dict(sorted(counts.items())),
        "num_clips": sum(counts.values()),
        "file_names": "<kind>_<file>.ogg, kind 'alpha' (letters) or 'syllab' (syllables)",
        "speakers": "one per language",
        "note": SPEAKER_NOTE,
    }
    debs_lib.publish(staging, target, info)
    if verbose:
        print(
            f"{NAME}: wrote {info['num_clips']} clips in {len(counts)} languages "
            f"({', '.join(info['classes'])}) to {target} (one speaker per language)"
        )
    return target
