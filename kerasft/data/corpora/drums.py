"""Hydrogen's drum kits (14 kits of one-shot samples) as class folders of drum types.

The samples come from Debian's `hydrogen-drumkits` (143 MB; `usr/share/hydrogen/data/drumkits/
<kit>/drumkit.xml` and the kit's FLAC, WAV and AIFF files), unpacked with `dpkg-deb -x` and
never installed. Each kit's `drumkit.xml` names its instruments and their sample files (one
per velocity layer); `drum_class` maps an instrument's name to one of `CLASSES`:

- kick: 'kick', 'bass drum', 'bassdrum';  snare: 'snare' (rimshots and rolls too);
- hi-hat: 'hi-hat', 'hi hat', 'hat', 'hh' ('Closed HH', 'Hat Op Dirty');  tom: 'tom...';
- crash: 'crash', 'china', 'splash';  ride: 'ride' (bell, bow);  clap: 'clap';
- cowbell: 'cowbell'.

A name that fits none (sticks, congas, djembes, effects, numbered spare slots) or two cymbal
classes at once ('Crash/Ride') is dropped; `info.json` counts the dropped samples by name.
The tree it writes is `<kerasft data dir>/drums/<class>/<kit>__<file>` (spaces in kit names
become '_'), read by `kft.data.from_audio_folder`.

>>> from kerasft.data.corpora.drums import drum_class
>>> [drum_class(n) for n in ("Kick", "Bass Drum", "Snare Rimshot", "Hat Closed", "Tom Hi")]
['kick', 'kick', 'snare', 'hi-hat', 'tom']
>>> drum_class("Crash/Ride Bow"), drum_class("Conga 1")
(None, None)
"""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

from kerasft.data.corpora import debs as debs_lib
from kerasft.errors import KerasftError
from kerasft.paths import kerasft_data_dir

NAME = "drums"
PACKAGE = "hydrogen-drumkits"
ROOT = "usr/share/hydrogen/data/drumkits"
# Checked in this order; the first class whose pattern matches wins, except that a name
# matching two of them is ambiguous (see `drum_class`).
PATTERNS = {
    "kick": r"kick|bass ?drum",
    "snare": r"snare",
    "hi-hat": r"hi[- ]?hat|\bo?hh\b|\bhat\b",
    "tom": r"\btom",
    "crash": r"crash|china|splash",
    "ride": r"ride",
    "clap": r"clap",
    "cowbell": r"cowbell",
}
CLASSES = tuple(PATTERNS)


def drums_dir() -> Path:
    """The prepared folder: `kerasft_data_dir()/drums`."""
    return kerasft_data_dir() / NAME


def drum_class(name: str) -> str | None:
    """The class of an instrument named `name` in a `drumkit.xml`, or None when none fits.

    Text in parentheses (the maker and size: 'Kick (Tama Superstar 22")') is ignored; a name
    that fits two classes ('Crash/Ride') is None.

    Args:
        name: the instrument's `<name>`.
    """
    text = re.sub(r"\(.*?\)", " ", name).lower()
    fits = [label for label, pattern in PATTERNS.items() if re.search(pattern, text)]
    return fits[0] if len(fits) == 1 else None


def read_drumkit(xml_path: Path) -> list[tuple[str, list[str]]]:
    """`[(instrument name, [sample file names])]` from a Hydrogen `drumkit.xml`, in order.

    Args:
        xml_path: the kit's `drumkit.xml`.
    """
    try:
        root = ET.parse(xml_path).getroot()
    except ET.ParseError as err:
        raise KerasftError(f"{str(xml_path)!r} is not readable XML ({err}).") from None
    ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    instruments = []
    for instrument in root.iter(ns + "instrument"):
        files = [e.text.strip() for e in instrument.iter(ns + "filename") if e.text]
        instruments.append(((instrument.findtext(ns + "name") or "").strip(), files))
    return instruments


def prepare_drums(
    debs: str | Path | None = None, *, force: bool = False, verbose: bool = True
) -> Path:
    """Write `<data dir>/drums/<class>/<kit>__<file>` from Hydrogen's kits; return that folder.

    Idempotent: when `info.json` is already there nothing is read or written.

    Args:
        debs: a folder holding `hydrogen-drumkits_*.deb`; None downloads it with
            `apt-get download` (private lists, nothing installed).
        force: rebuild the folder even when it is already prepared.
        verbose: print one line of what was done.
    """
    target = drums_dir()
    if debs_lib.read_info(target) is not None and not force:
        if verbose:
            print(f"{NAME}: already prepared in {target}")
        return target
    counts, kits, dropped, missing = Counter(), {}, Counter(), []
    with debs_lib.unpacked(NAME, [PACKAGE], debs, verbose=verbose) as folders:
        root = folders[PACKAGE] / ROOT
        xmls = sorted(root.glob("*/drumkit.xml")) if root.is_dir() else []
        if not xmls:
            raise KerasftError(f"{PACKAGE} holds no {ROOT}/<kit>/drumkit.xml.")
        staging = debs_lib.staging_dir(target)
        written = set()
        for xml_path in xmls:
            kit = xml_path.parent.name.replace(" ", "_")
            kits[kit] = 0
            for instrument, files in read_drumkit(xml_path):
                label = drum_class(instrument)
                for name in files:
                    if label is None:
                        dropped[instrument or "(no name)"] += 1
                        continue
                    source = xml_path.parent / name
                    out = f"{kit}__{name.replace('/', '_')}"
                    if not source.is_file():
                        missing.append(f"{kit}/{name}")
                    elif out not in written:
                        # A sample two instruments share is written once, under the first.
                        (staging / label).mkdir(exist_ok=True)
                        shutil.copyfile(source, staging / label / out)
                        written.add(out)
                        counts[label] += 1
                        kits[kit] += 1
    info = {
        "name": NAME,
        "source": f"Debian package {PACKAGE} ({ROOT}/<kit>/drumkit.xml and its samples)",
        "package": PACKAGE,
        "classes": sorted(counts),
        "counts": dict(sorted(counts.items())),
        "num_clips": sum(counts.values()),
        "kits": kits,
        "class_patterns": PATTERNS,
        "dropped": {
            "samples": sum(dropped.values()),
            "by_instrument": dict(sorted(dropped.items())),
        },
        "missing_files": missing,
        "file_names": "<kit>__<file> (spaces in kit names become '_')",
    }
    debs_lib.publish(staging, target, info)
    if verbose:
        print(
            f"{NAME}: wrote {info['num_clips']} samples in {len(counts)} classes "
            f"({', '.join(f'{k} {v}' for k, v in info['counts'].items())}) from {len(kits)} kits "
            f"to {target}; dropped {info['dropped']['samples']} of other instruments"
        )
    return target
