"""Asterisk's spoken telephone prompts (about 550 WAV files a language, 8 kHz) as class folders.

The prompts come from Debian's `asterisk-core-sounds-<language>-wav` packages (about 20 MB
each; `usr/share/asterisk/sounds/<voice>/...`), unpacked with `dpkg-deb -x` and never
installed. The tree it writes, `<kerasft data dir>/prompts/<language>/<file>.wav` plus
`info.json`, is what `kft.data.from_audio_folder` reads. Files in the voice's sub-folders keep
the folder in their name (`digits_1.wav`); the `silence/` clips are left out (counted in
`info.json`): they hold no speech.

Each language is one voice, so language and speaker coincide: a classifier may learn the voice
rather than the language. (The English and Spanish voices are both named Allison.)

    from kerasft.data.corpora.prompts import prepare_prompts
    folder = prepare_prompts(languages=["en"])   # then kft.data.from_audio_folder(folder)
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from kerasft.data.corpora import debs as debs_lib
from kerasft.errors import KerasftError, unknown_name
from kerasft.paths import kerasft_data_dir

NAME = "prompts"
LANGUAGES = ("en", "es", "fr", "it", "ru")
ROOT = "usr/share/asterisk/sounds"
LEFT_OUT = ("silence",)
SPEAKER_NOTE = (
    "Each language is spoken by one speaker (one voice per package), so language and speaker "
    "coincide: a model may learn the voice, not the language."
)


def package(language: str) -> str:
    """The Debian package of a language's prompts: 'en' -> 'asterisk-core-sounds-en-wav'.

    Args:
        language: one of `LANGUAGES`.
    """
    return f"asterisk-core-sounds-{language}-wav"


def prompts_dir() -> Path:
    """The prepared folder: `kerasft_data_dir()/prompts`."""
    return kerasft_data_dir() / NAME


def parse_languages(languages: str | Sequence[str] | None) -> list[str]:
    """Languages as a checked, sorted list; 'en,fr' and ['en', 'fr'] alike; None: all five.

    Args:
        languages: a comma-separated string or a list of codes from `LANGUAGES`.

    >>> from kerasft.data.corpora.prompts import parse_languages
    >>> parse_languages("fr, en")
    ['en', 'fr']
    """
    if languages is None:
        return list(LANGUAGES)
    if isinstance(languages, str):
        languages = languages.split(",")
    chosen = sorted({code.strip() for code in languages if code.strip()})
    for code in chosen:
        if code not in LANGUAGES:
            raise unknown_name("prompt language", code, LANGUAGES)
    if not chosen:
        raise KerasftError(f"no languages given; choose from {', '.join(LANGUAGES)}.")
    return chosen


def find_prompts(sounds: Path) -> tuple[str, list[tuple[Path, str]], int]:
    """`(voice, [(wav, written name)], left out)` of one unpacked package's sounds folder.

    Args:
        sounds: the unpacked `usr/share/asterisk/sounds` folder (one voice folder inside).
    """
    voices = sorted(p for p in sounds.iterdir() if p.is_dir())
    if len(voices) != 1:
        raise KerasftError(f"expected one voice folder in {str(sounds)!r}, found {len(voices)}.")
    voice = voices[0]
    found, left_out = [], 0
    for wav in sorted(voice.rglob("*.wav")):
        parts = wav.relative_to(voice).parts
        if parts[0] in LEFT_OUT:
            left_out += 1
            continue
        found.append((wav, "_".join(parts)))
    return voice.name, found, left_out


def prepare_prompts(
    languages: str | Sequence[str] | None = None,
    debs: str | Path | None = None,
    *,
    force: bool = False,
    verbose: bool = True,
) -> Path:
    """Write `<data dir>/prompts/<language>/<file>.wav`; return that folder.

    Idempotent: when the prepared folder already holds every language asked for, nothing is
    read or written; asking for more adds them (the folder is rebuilt with both sets).

    Args:
        languages: codes from `LANGUAGES` ('en,fr' or a list); None takes all five.
        debs: a folder holding the `asterisk-core-sounds-<language>-wav_*.deb` files; None
            downloads them with `apt-get download` (private lists, nothing installed).
        force: rebuild the folder even when it is already prepared.
        verbose: print one line of what was done.
    """
    chosen = parse_languages(languages)
    target = prompts_dir()
    info = debs_lib.read_info(target)
    if info is not None and not force:
        if set(chosen) <= set(info.get("classes", [])):
            if verbose:
                print(f"{NAME}: already prepared in {target} ({', '.join(info['classes'])})")
            return target
        chosen = sorted(set(chosen) | set(info.get("classes", [])))
    packages = [package(code) for code in chosen]
    with debs_lib.unpacked(NAME, packages, debs, verbose=verbose) as folders:
        staging = debs_lib.staging_dir(target)
        counts, voices, left_out = {}, {}, {}
        for code in chosen:
            sounds = folders[package(code)] / ROOT
            if not sounds.is_dir():
                raise KerasftError(f"{package(code)} holds no {ROOT} folder.")
            voices[code], files, left_out[code] = find_prompts(sounds)
            (staging / code).mkdir()
            for wav, name in files:
                shutil.copyfile(wav, staging / code / name)
            counts[code] = len(files)
    info = {
        "name": NAME,
        "source": f"Debian packages asterisk-core-sounds-<language>-wav ({ROOT}/<voice>/...)",
        "packages": packages,
        "classes": chosen,
        "counts": counts,
        "num_clips": sum(counts.values()),
        "voices": voices,
        "left_out": {"folders": list(LEFT_OUT), "counts": left_out},
        "file_names": "<sub-folder>_<file>.wav for files in the voice's sub-folders",
        "speakers": "one per language",
        "note": SPEAKER_NOTE,
    }
    debs_lib.publish(staging, target, info)
    if verbose:
        print(
            f"{NAME}: wrote {info['num_clips']} prompts in {len(chosen)} languages "
            f"({', '.join(chosen)}) to {target} (one speaker per language)"
        )
    return target
