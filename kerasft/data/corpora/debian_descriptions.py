"""Debian package descriptions labeled by Section: a real text-classification corpus from apt.

`prepare_debian_descriptions()` fetches the package lists of the system's Debian release with
`apt-get update` into kerasft's data folder (never the system's `/var/lib/apt/lists`, and with
apt's update hooks cleared, so the system's apt state is untouched), reads the `main` component's
`Packages` and `Translation-en` files with `apt-helper cat-file` (which decompresses them), and
writes `<data dir>/debian_descriptions/texts.csv` (`text,label`) and `info.json`.

The rules (`build_corpus`), applied in this order:

1. a package whose `Description-md5` has no `Translation-en` entry, or whose description has no
   long part, is dropped (`no_translation`, `no_long_description`);
2. the label is the `Section` with any `contrib/`, `non-free/` prefix removed; packages in the
   non-topical `EXCLUDED_SECTIONS` are dropped (`excluded_section`);
3. a text that several packages share is kept once when they share one section
   (`duplicate`: the extra copies), and dropped altogether when they do not, as it cannot be
   labeled (`conflicting_duplicate`); excluded sections are dropped first, so a tool that
   shares its text with its own `libs` package keeps it;
4. sections with fewer than `min_documents` (300) texts are dropped (`small_section`).

On Debian 12.15 (amd64, lists dated 11 July 2026) this gives 40,817 documents in 30 classes
(18,519 packages in excluded sections, 1,791 duplicate copies, 114 texts shared across
sections and 2,198 documents of 17 small sections dropped).
Counts change with point releases; `info.json` records the release and its date.

    from kerasft.data.corpora.debian_descriptions import prepare_debian_descriptions
    csv_path = prepare_debian_descriptions()   # then kft.data.from_text_csv(csv_path)
"""

from __future__ import annotations

import csv
import json
import os
import shlex
import shutil
import subprocess
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from kerasft.data.corpora import apt
from kerasft.data.corpora.apt import APT_CONF, architecture, update_command  # noqa: F401 (re-exported)
from kerasft.data.corpora.deb822 import long_description, parse_stanzas, release_fields
from kerasft.errors import KerasftError
from kerasft.paths import kerasft_data_dir

NAME = "debian_descriptions"
EXCLUDED_SECTIONS = (
    "libs",
    "libdevel",
    "doc",
    "debug",
    "oldlibs",
    "metapackages",
    "tasks",
    "introspection",
    "localization",
    "otherosfs",
    "kernel",
)
MIN_DOCUMENTS = 300
APT_HELPER = "/usr/lib/apt/apt-helper"
NOTE = (
    "Counts change with Debian point releases (packages and descriptions are updated); "
    "compare results only on lists of the same release date."
)


@dataclass
class Corpus:
    """Labeled texts built from a `Packages` and a `Translation-en` file.

    Attributes:
        rows: `(text, label)` pairs, in the `Packages` file's order.
        dropped: rule name -> how many packages (or copies) it dropped.
        excluded: excluded section -> packages dropped from it.
        small_sections: section -> documents it had when dropped for being under the minimum.
    """

    rows: list[tuple[str, str]] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)
    excluded: dict[str, int] = field(default_factory=dict)
    small_sections: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Documents per label, labels sorted."""
        return dict(sorted(Counter(label for _, label in self.rows).items()))


def normalize_section(section: str) -> str:
    """A `Section` without its archive-area prefix: 'contrib/games' -> 'games'.

    Args:
        section: the field's value.
    """
    return section.strip().rsplit("/", 1)[-1]


def build_corpus(
    packages: str,
    translations: str,
    *,
    min_documents: int = MIN_DOCUMENTS,
    excluded_sections=EXCLUDED_SECTIONS,
) -> Corpus:
    """Join `Packages` and `Translation-en` text on `Description-md5` and apply the rules above.

    Args:
        packages: the text of a `Packages` file.
        translations: the text of the matching `Translation-en` file.
        min_documents: sections with fewer texts than this are dropped.
        excluded_sections: sections that say what a package is made of, not what it is about.
    """
    texts = {}
    for stanza in parse_stanzas(translations, ("Description-md5", "Description-en")):
        if "Description-md5" in stanza and "Description-en" in stanza:
            texts[stanza["Description-md5"]] = long_description(stanza["Description-en"])
    rules = ("no_translation", "no_long_description", "excluded_section")
    dropped = dict.fromkeys(rules + ("duplicate", "conflicting_duplicate", "small_section"), 0)
    excluded = Counter()
    candidates: list[tuple[str, str]] = []
    for stanza in parse_stanzas(packages, ("Package", "Section", "Description-md5")):
        text = texts.get(stanza.get("Description-md5", ""))
        section = normalize_section(stanza.get("Section", ""))
        if text is None:
            dropped["no_translation"] += 1
        elif not text:
            dropped["no_long_description"] += 1
        elif section in excluded_sections or not section:
            dropped["excluded_section"] += 1
            excluded[section] += 1
        else:
            candidates.append((text, section))
    sections_of = defaultdict(set)
    copies = Counter()
    for text, section in candidates:
        sections_of[text].add(section)
        copies[text] += 1
    unique = []
    seen = set()
    for text, section in candidates:
        if len(sections_of[text]) > 1:
            dropped["conflicting_duplicate"] += 1
        elif text in seen:
            dropped["duplicate"] += 1
        else:
            seen.add(text)
            unique.append((text, section))
    sizes = Counter(section for _, section in unique)
    small = {s: n for s, n in sorted(sizes.items()) if n < min_documents}
    dropped["small_section"] = sum(small.values())
    rows = [(t, s) for t, s in unique if s not in small]
    return Corpus(rows, dropped, dict(sorted(excluded.items())), small)


OFFLINE = (
    "Copy a lists folder from a Debian or Ubuntu system (/var/lib/apt/lists) and run "
    f"`kerasft data prepare {NAME} --lists DIR`."
)


def fetch_lists(work: Path, *, verbose: bool = True) -> list[str]:
    """Fetch the lists into `work/lists` with `kerasft.data.corpora.apt.fetch_lists`.

    Args:
        work: the folder that gets `lists/`, `cache/` and `apt.conf`.
        verbose: print one line before the download.
    """
    return apt.fetch_lists(work, offline=OFFLINE, verbose=verbose)


def find_lists(lists: Path, arch: str, codename: str | None = None) -> dict[str, Path]:
    """`{'release', 'packages', 'translations'}` files of the main release in a lists folder.

    The release is the one named `codename` (default: this system's, from /etc/os-release);
    security and -updates suites are left out: they repeat packages of the release.

    Args:
        lists: an apt lists folder.
        arch: the dpkg architecture whose `Packages` file to read.
        codename: the release's codename, e.g. 'bookworm'.
    """
    releases = {}
    for path in sorted(lists.glob("*Release")):
        if path.name.endswith(("_InRelease", "_Release")):
            releases[path] = release_fields(path.read_text(encoding="utf-8", errors="replace"))
    codename = codename or _system_codename()
    chosen = [p for p, f in releases.items() if f.get("Codename") == codename]
    if not chosen:
        chosen = [p for p, f in releases.items() if "-" not in f.get("Codename", "-")]
    found = sorted({f.get("Codename", "?") for f in releases.values()})
    if len(chosen) != 1:
        raise KerasftError(
            f"expected one Debian release in {str(lists)!r} (codename {codename!r}); found "
            f"{len(chosen)} among codenames {found}. Pass a lists folder of one release."
        )
    release = chosen[0]
    prefix = release.name[: release.name.rindex("_") + 1]
    files = {"release": release}
    for key, pattern in (
        ("packages", f"{prefix}main_binary-{arch}_Packages*"),
        ("translations", f"{prefix}main_i18n_Translation-en*"),
    ):
        matches = sorted(p for p in lists.glob(pattern) if p.is_file())
        if not matches:
            raise KerasftError(
                f"no {pattern} in {str(lists)!r}; fetch the lists with Acquire::Languages=en "
                f"(`kerasft data prepare {NAME} --force`)."
            )
        files[key] = matches[0]
    return files


def _system_codename() -> str | None:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("VERSION_CODENAME="):
                return line.split("=", 1)[1].strip().strip('"') or None
    except OSError:
        pass
    return None


def cat_file(path: Path) -> str:
    """The text of an apt lists file, decompressed by `apt-helper cat-file` (lz4, xz, gz...).

    Args:
        path: the file.
    """
    helper = APT_HELPER if os.path.exists(APT_HELPER) else shutil.which("apt-helper")
    if helper is None:
        raise KerasftError(f"{APT_HELPER} not found; it comes with the `apt` package.")
    result = subprocess.run([helper, "cat-file", str(path)], capture_output=True)
    if result.returncode != 0:
        raise KerasftError(
            f"`{helper} cat-file {path}` failed: {result.stderr.decode(errors='replace')[-500:]}"
        )
    return result.stdout.decode("utf-8", errors="replace")


def prepare_debian_descriptions(
    lists: str | Path | None = None,
    *,
    force: bool = False,
    min_documents: int = MIN_DOCUMENTS,
    verbose: bool = True,
) -> Path:
    """Build `<data dir>/debian_descriptions/texts.csv` (and `info.json`); return the CSV's path.

    Idempotent: when `info.json` is already there nothing is fetched or written.

    Args:
        lists: an apt lists folder to read instead of fetching (e.g. /var/lib/apt/lists);
            None runs `apt-get update` into `<data dir>/debian_descriptions/apt/`.
        force: fetch and rebuild even when already prepared.
        min_documents: sections with fewer documents are dropped.
        verbose: print what is done (two lines).
    """
    target = kerasft_data_dir() / NAME
    csv_path, info_path = target / "texts.csv", target / "info.json"
    if info_path.is_file() and csv_path.is_file() and not force:
        if verbose:
            print(f"{NAME}: already prepared in {target}")
        return csv_path
    target.mkdir(parents=True, exist_ok=True)
    if lists is None:
        work = target / "apt"
        command = shlex.join(fetch_lists(work, verbose=verbose))
        lists = work / "lists"
        shutil.rmtree(work / "cache", ignore_errors=True)  # apt's binary caches, not needed
    else:
        lists = Path(lists).expanduser()
        if not lists.is_dir():
            raise KerasftError(f"lists folder {str(lists)!r} does not exist.")
        command = f"(read existing lists in {lists})"
    arch = architecture()
    files = find_lists(Path(lists), arch)
    release = release_fields(files["release"].read_text(encoding="utf-8", errors="replace"))
    corpus = build_corpus(
        cat_file(files["packages"]), cat_file(files["translations"]), min_documents=min_documents
    )
    if not corpus.rows:
        raise KerasftError(f"no documents left from {files['packages']}; see the rules in info.")
    partial = csv_path.with_suffix(".csv.partial")
    with open(partial, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(corpus.rows)
    counts = corpus.counts()
    info = {
        "name": NAME,
        "source": "Debian main: long English descriptions (Translation-en) labeled by Section "
        "(Packages), joined on Description-md5",
        "release": {
            k.lower(): release.get(k)
            for k in ("Origin", "Label", "Suite", "Codename", "Version", "Date", "Description")
        },
        "architecture": arch,
        "lists": {k: str(v) for k, v in files.items()},
        "command": command,
        "num_documents": len(corpus.rows),
        "num_classes": len(counts),
        "classes": list(counts),
        "counts": counts,
        "dropped": corpus.dropped,
        "excluded_sections": list(EXCLUDED_SECTIONS),
        "excluded_counts": corpus.excluded,
        "min_documents": min_documents,
        "small_sections": corpus.small_sections,
        "rules": (
            "in order: drop packages without a Translation-en long description; drop excluded "
            "sections; keep one copy of a text shared within one section, drop a text shared "
            "across sections; drop sections under min_documents"
        ),
        "note": NOTE,
    }
    partial.replace(csv_path)
    info_path.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    if verbose:
        print(
            f"{NAME}: wrote {len(corpus.rows)} documents in {len(counts)} classes to {csv_path} "
            f"(Debian {release.get('Version')} lists of {release.get('Date')})"
        )
    return csv_path
