"""`kerasft data prepare drums|spoken_languages|prompts`: Debian packages -> class folders.

The preparers run end to end on small `.deb` files built here with `dpkg-deb --build` in the
packages' real layouts (no network: `--debs` points at them); the drum class rules are checked
on the instrument names of all 14 kits in Debian's hydrogen-drumkits 2017.09.19; the real
prepared corpora's `info.json` are checked too.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile
from audio_corpora import prepared, tone

from kerasft.data.corpora import apt
from kerasft.data.corpora.drums import CLASSES, drum_class, read_drumkit
from kerasft.errors import KerasftError

# Instrument names in hydrogen-drumkits' drumkit.xml files (Debian bookworm), and their class.
REAL_NAMES = {
    "kick": [
        "Kick",
        "BassDrum",
        "Kick Lite 1",
        "Kick Nz",
        'Kick (Tama Superstar 22")',
        "Pearl Kick",
        "VariBreaks Kick 2",
        "c3 - bass drum 1",
        "f3 - bass drum 2",
    ],
    "snare": [
        "Snare Jazz",
        "Snare Rock",
        "Snare",
        "Snare Roll",
        "Snare Dry",
        "Snare1",
        "Snare Low",
        "Snare Rimshot (Pearl Free Floating Maple 14x3.5)",
        "Pearl Snare Rimshot",
        "d3 - snare 1",
        "VariBreaks Snare 3",
    ],
    "hi-hat": [
        "Closed HH",
        "Pedal HH",
        "Open HH",
        "Hi Hat Closed",
        "Hi Hat Opened",
        "Hi Hat Free",
        "Hat Closed Bs",
        "Hat Op Dirty",
        'Hi-Hat Semiopen (Paiste Alpha Metal edge 14")',
        "Side OHH",
        "Side HH",
        "Closed HH 3",
        "Sabian Hat Choke",
        "VariBreaks Hat 1 Cl",
        "f#3 - hi-hat closed",
    ],
    "tom": [
        "Tom Low",
        "Tom Mid",
        "Tom Hi",
        "Tom",
        "Floor Tom",
        "tomhi2",
        "Pearl Tom Floor",
        'Tom High (Tama Superstar 12")',
        "b3 - low tom",
        "VariBreaks Tom Mid",
    ],
    "crash": [
        "Crash",
        "Crash Left",
        "crash16inch",
        "crash20inch--2",
        "Crash Jazz",
        "Sabian Crash",
        'China (Paiste Alpha 18")',
        'Splash (Paiste Rude 10")',
        "Zildjian Splash Choke",
        "c#4 - crash",
    ],
    "ride": ["Ride", "Ride 2", "Ride Bell", "Ride Jazz", "ride-cup", "Paiste Ride Flink"],
    "clap": ["Hand Clap", "Clap", "Clap Hard", "Clap 1", "d#3 - clap"],
    "cowbell": ["Cowbell", "g#4 - cowbell"],
    None: [
        "Stick",
        "Click",
        "Conga 1",
        "Drum 1",
        "Whistle",
        "Rim Click (Pearl Free Floating Maple 14x3.5)",
        "Pearl Side Stick",
        'Crash/Ride Bow (Paiste Rude Crash/Ride 18")',
        "ride-crash20inch",
        "Paiste Bell",
        "Tambourine",
        "Agogo Low (Pearl ECB-23)",
        "Maraca",
        "Bongo Hi",
        "Djembe1 Slap",
        "Sangban1 Bell Hit",
        "Zap 1",
        "FX",
        "cymbal 1",
        "17",
        "",
        "Sample: beats_01-39.flac",
        "redo super opaco",
        "Cajon Thump",
    ],
}

DRUMKIT_XML = """<?xml version="1.0" encoding="UTF-8"?>
<drumkit_info xmlns="http://www.hydrogen-music.org/drumkit">
 <name>Tiny Kit</name>
 <instrumentList>
  <instrument><id>0</id><name>Kick</name>
   <layer><filename>kick_soft.wav</filename></layer>
   <layer><filename>kick_hard.flac</filename></layer></instrument>
  <instrument><id>1</id><name>Conga 1</name>
   <layer><filename>conga.wav</filename></layer></instrument>
  <instrument><id>2</id><name>Snare Rimshot</name>
   <layer><filename>snare.wav</filename></layer>
   <layer><filename>not_shipped.wav</filename></layer></instrument>
  <instrument><id>3</id><name>Closed HH</name><filename>hat.wav</filename></instrument>
 </instrumentList>
</drumkit_info>
"""


@pytest.mark.parametrize("label", list(REAL_NAMES), ids=str)
def test_real_instrument_names_map_to_the_documented_classes(label):
    assert label is None or label in CLASSES
    got = {name: drum_class(name) for name in REAL_NAMES[label]}
    assert got == dict.fromkeys(REAL_NAMES[label], label)


def test_read_drumkit_takes_layers_and_old_style_filenames(tmp_path):
    (tmp_path / "drumkit.xml").write_text(DRUMKIT_XML)
    assert read_drumkit(tmp_path / "drumkit.xml") == [
        ("Kick", ["kick_soft.wav", "kick_hard.flac"]),
        ("Conga 1", ["conga.wav"]),
        ("Snare Rimshot", ["snare.wav", "not_shipped.wav"]),
        ("Closed HH", ["hat.wav"]),
    ]
    (tmp_path / "bad.xml").write_text("<drumkit_info>")
    with pytest.raises(KerasftError, match="not readable XML"):
        read_drumkit(tmp_path / "bad.xml")


# --- End to end on .deb files built here ---


def _build_deb(folder: Path, package: str, files: dict[str, object]) -> Path:
    """A `.deb` of `package` holding `files` (path -> bytes, or a waveform at 16 kHz)."""
    root = folder / f"{package}-root"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        f"Package: {package}\nVersion: 1.0-1\nArchitecture: all\nMaintainer: t <t@e.st>\n"
        "Description: test\n"
    )
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            fmt = {"ogg": "OGG", "flac": "FLAC"}.get(path.suffix[1:], "WAV")
            soundfile.write(path, content, 16000, format=fmt)
    deb = folder / f"{package}_1.0-1_all.deb"
    subprocess.run(
        ["dpkg-deb", "-Znone", "--build", str(root), str(deb)], check=True, capture_output=True
    )
    return deb


@pytest.fixture
def debs(tmp_path, monkeypatch):
    """A folder of small packages in the real layouts, and KERASFT_DATA set to a fresh folder."""
    folder = tmp_path / "debs"
    folder.mkdir()
    clip = tone(440, 0.3, 16000)
    kits = "usr/share/hydrogen/data/drumkits/Tiny Kit/"
    _build_deb(
        folder,
        "hydrogen-drumkits",
        {
            kits + "drumkit.xml": DRUMKIT_XML.encode(),
            **{
                kits + n: clip
                for n in ("kick_soft.wav", "kick_hard.flac", "conga.wav", "snare.wav", "hat.wav")
            },
        },
    )
    letters = "usr/share/klettres/"
    _build_deb(
        folder,
        "klettres-data",
        {
            letters + "fr/alpha/a.ogg": clip,
            letters + "fr/syllab/a.ogg": clip,
            letters + "fr/sounds.xml": b"<klettres/>",
            letters + "de/alpha/b.ogg": clip,
            letters + "id/sounds.xml": b"<klettres/>",
            letters + "icons/x.png": b"png",
        },
    )
    for code, voice in (("en", "en_US_f_Allison"), ("fr", "fr_CA_f_June")):
        sounds = f"usr/share/asterisk/sounds/{voice}/"
        _build_deb(
            folder,
            f"asterisk-core-sounds-{code}-wav",
            {
                sounds + "hello.wav": clip,
                sounds + "digits/1.wav": clip,
                sounds + "silence/1.wav": np.zeros(1600, np.float32),
                f"usr/share/doc/asterisk-core-sounds-{code}-wav/copyright": b"CC-BY-SA",
            },
        )
    monkeypatch.setenv("KERASFT_DATA", str(tmp_path / "data"))
    return folder


def _prepare(*argv) -> int:
    from kerasft.cli.main import main

    return main(["data", "prepare", *argv])


def _tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_drums_are_written_as_class_folders_with_the_dropped_counted(debs, capsys):
    assert _prepare("drums", "--debs", str(debs)) == 0
    out = capsys.readouterr().out
    assert "drums: wrote 4 samples in 3 classes (hi-hat 1, kick 2, snare 1) from 1 kits" in out
    folder = debs.parent / "data" / "drums"
    assert _tree(folder) == [
        "hi-hat/Tiny_Kit__hat.wav",
        "info.json",
        "kick/Tiny_Kit__kick_hard.flac",
        "kick/Tiny_Kit__kick_soft.wav",
        "snare/Tiny_Kit__snare.wav",
    ]
    info = json.loads((folder / "info.json").read_text())
    assert info["dropped"] == {"samples": 1, "by_instrument": {"Conga 1": 1}}
    assert info["missing_files"] == ["Tiny_Kit/not_shipped.wav"]
    assert info["counts"] == {"hi-hat": 1, "kick": 2, "snare": 1}
    assert not list((debs.parent / "data").glob(".drums*"))  # scratch removed
    assert _prepare("drums", "--debs", str(debs / "nowhere")) == 0  # prepared: nothing read
    assert "drums: already prepared" in capsys.readouterr().out


def test_spoken_languages_keep_alpha_and_syllab_apart_and_note_the_speaker(debs, capsys):
    assert _prepare("spoken_languages", "--debs", str(debs)) == 0
    assert "wrote 3 clips in 2 languages (de, fr)" in capsys.readouterr().out
    folder = debs.parent / "data" / "spoken_languages"
    assert _tree(folder) == ["de/alpha_b.ogg", "fr/alpha_a.ogg", "fr/syllab_a.ogg", "info.json"]
    info = json.loads((folder / "info.json").read_text())
    assert info["classes"] == ["de", "fr"] and info["counts"] == {"de": 1, "fr": 2}
    assert "one speaker" in info["note"] and "language and speaker coincide" in info["note"]
    wave, rate = soundfile.read(folder / "fr" / "alpha_a.ogg")
    assert rate == 16000 and len(wave) == 4800


def test_prompts_take_chosen_languages_and_add_more_later(debs, capsys):
    assert _prepare("prompts", "--languages", "en", "--debs", str(debs)) == 0
    folder = debs.parent / "data" / "prompts"
    assert _tree(folder) == ["en/digits_1.wav", "en/hello.wav", "info.json"]
    info = json.loads((folder / "info.json").read_text())
    assert info["voices"] == {"en": "en_US_f_Allison"}
    assert info["left_out"]["counts"] == {"en": 1}
    assert "one speaker" in info["note"]
    assert _prepare("prompts", "--languages", "en", "--debs", str(debs / "nowhere")) == 0
    assert "already prepared" in capsys.readouterr().out
    assert _prepare("prompts", "--languages", "fr", "--debs", str(debs)) == 0
    assert "wrote 4 prompts in 2 languages (en, fr)" in capsys.readouterr().out
    assert sorted(p.name for p in folder.iterdir()) == ["en", "fr", "info.json"]


def test_bad_languages_and_missing_debs_are_clear_errors(debs, capsys):
    assert _prepare("prompts", "--languages", "en,de", "--debs", str(debs)) == 2
    assert "Unknown prompt language 'de'" in capsys.readouterr().err
    empty = debs.parent / "empty"
    empty.mkdir()
    with pytest.raises(KerasftError, match=r"no \['klettres-data'\] .deb.*--debs DIR"):
        from kerasft.data.corpora.spoken_languages import prepare_spoken_languages

        prepare_spoken_languages(empty, verbose=False)
    assert not (debs.parent / "data" / "spoken_languages").exists()


def test_apt_download_uses_the_private_lists_and_update_fails_loudly(tmp_path):
    download = apt.download_command(tmp_path, ["klettres-data"])
    assert download[-2:] == ["download", "klettres-data"]
    assert f"Dir::State::Lists={tmp_path / 'lists'}" in download
    assert "--error-on=any" not in download  # apt-get download refuses it
    assert "--error-on=any" in apt.update_command(tmp_path)
    assert not apt.has_lists(tmp_path)
    (tmp_path / "lists").mkdir()
    (
        tmp_path / "lists" / "deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4"
    ).write_bytes(b"x")
    assert apt.has_lists(tmp_path)
    assert apt.find_debs(tmp_path, ["klettres-data"]) == {}


# --- The real corpora `make assets` prepared ---


def test_real_spoken_languages_info():
    folder = prepared("spoken_languages")
    info = json.loads((folder / "info.json").read_text())
    assert info["num_clips"] == 1836 and len(info["classes"]) == 20
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == info["classes"]
    assert sum(len(os.listdir(folder / c)) for c in info["classes"]) == 1836
    assert "one speaker" in info["note"]


def test_real_english_prompts_info():
    folder = prepared("prompts")
    info = json.loads((folder / "info.json").read_text())
    assert "en" in info["classes"] and info["voices"]["en"] == "en_US_f_Allison"
    assert info["counts"]["en"] == len(list((folder / "en").glob("*.wav"))) >= 500
    assert not list((folder / "en").glob("silence_*"))
