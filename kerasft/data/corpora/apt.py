"""Private apt runs: package lists and `.deb` files fetched into a folder of kerasft's own.

Every command here reads its configuration from `work/apt.conf` and keeps its lists, lock and
cache under `work`, so the system's `/var/lib/apt` is never read or changed, no package is
installed, and a machine with no apt lists of its own (a fresh container) works as well.
`.deb` files are unpacked with `dpkg-deb -x`, which writes only into the folder given.

>>> from pathlib import Path
>>> from kerasft.data.corpora.apt import download_command
>>> command = download_command(Path("/w"), ["klettres-data"])
>>> command[:4], command[-2:]
(['apt-get', '-q', '-c', '/w/apt.conf'], ['download', 'klettres-data'])
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from kerasft.errors import KerasftError

# `apt-get update` runs these hooks from /etc/apt/apt.conf.d (AppStream, PackageKit refresh
# their system caches); cleared so fetching our lists changes nothing outside our folder.
APT_CONF = (
    "#clear APT::Update::Pre-Invoke;\n"
    "#clear APT::Update::Post-Invoke;\n"
    "#clear APT::Update::Post-Invoke-Success;\n"
)


def architecture() -> str:
    """dpkg's architecture of this machine (e.g. 'amd64')."""
    try:
        return subprocess.run(
            ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        raise KerasftError(
            "`dpkg --print-architecture` failed: this corpus is built with apt and dpkg, on a "
            "Debian or Ubuntu system."
        ) from None


def _private(work: Path) -> list[str]:
    command = ["apt-get", "-q", "-c", str(work / "apt.conf")]
    command += ["-o", f"Dir::State::Lists={work / 'lists'}", "-o", f"Dir::Cache={work / 'cache'}"]
    command += ["-o", "Acquire::Languages=en"]
    if os.geteuid() == 0:
        # apt downloads as the `_apt` user, who cannot enter root's home (where the kerasft
        # cache usually is); it would fall back to root anyway, with a warning.
        command += ["-o", "APT::Sandbox::User=root"]
    return command


def update_command(work: Path) -> list[str]:
    """The `apt-get update` that fetches the lists into `work/lists` (system state untouched).

    Args:
        work: the folder that gets `lists/`, `cache/` and the `apt.conf` clearing the hooks.
    """
    # Without --error-on=any a failed list download (no network) still exits 0.
    return _private(work) + ["--error-on=any", "update"]


def download_command(work: Path, packages: Sequence[str]) -> list[str]:
    """The `apt-get download` of `packages` (into the current folder) with `work`'s lists.

    Args:
        work: a folder `fetch_lists` filled.
        packages: Debian package names.
    """
    return _private(work) + ["download", *packages]


def _prepare_work(work: Path, offline: str) -> None:
    if shutil.which("apt-get") is None:
        raise KerasftError(
            "apt-get not found: this corpus comes from Debian's archive, fetched with apt on a "
            f"Debian or Ubuntu system. {offline}"
        )
    (work / "lists" / "partial").mkdir(parents=True, exist_ok=True)
    (work / "cache" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
    (work / "apt.conf").write_text(APT_CONF)


def _run(command: list[str], offline: str, cwd: Path | None = None) -> None:
    result = subprocess.run(command, capture_output=True, text=True, cwd=cwd)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-8:])
        raise KerasftError(
            f"{command[-1] if command[-1] == 'update' else 'apt-get download'} failed (exit "
            f"code {result.returncode}):\n{tail}\nRun it by hand to see why: "
            f"{shlex.join(command)}\n{offline}"
        )


def fetch_lists(work: Path, *, offline: str, verbose: bool = True) -> list[str]:
    """Run `update_command(work)`; return the command. Raises `KerasftError` when apt fails.

    Works as root and as a plain user alike: the lists' lock and partial folder are in `work`.

    Args:
        work: as for `update_command`.
        offline: what to do instead where apt cannot run (ends every error message).
        verbose: print one line before the download.
    """
    _prepare_work(work, offline)
    command = update_command(work)
    if verbose:
        print(
            f"Fetching Debian's package lists into {work / 'lists'} (about 16 MB) ...", flush=True
        )
    _run(command, offline)
    return command


def has_lists(work: Path) -> bool:
    """True when `work/lists` holds a `Packages` file (a finished `fetch_lists`).

    Args:
        work: as for `update_command`.
    """
    return any((work / "lists").glob("*_Packages*"))


def find_debs(folder: Path, packages: Sequence[str]) -> dict[str, Path]:
    """`{package: .deb}` for the packages whose `<package>_*.deb` is in `folder` (newest name).

    Args:
        folder: a folder of downloaded `.deb` files.
        packages: the package names wanted.
    """
    found = {}
    for package in packages:
        matches = sorted(Path(folder).glob(f"{package}_*.deb"))
        if matches:
            found[package] = matches[-1]
    return found


def download_debs(
    packages: Sequence[str], dest: Path, *, work: Path, offline: str, verbose: bool = True
) -> dict[str, Path]:
    """`apt-get download` the packages missing from `dest` into it; return `{package: .deb}`.

    The lists are fetched into `work` first when it has none.

    Args:
        packages: Debian package names.
        dest: the folder that gets the `.deb` files.
        work: the private apt folder (lists, cache, `apt.conf`).
        offline: what to do instead where apt cannot run (ends every error message).
        verbose: print a line before each download.
    """
    dest.mkdir(parents=True, exist_ok=True)
    missing = [p for p in packages if p not in find_debs(dest, [p])]
    if missing:
        if not has_lists(work):
            fetch_lists(work, offline=offline, verbose=verbose)
        _prepare_work(work, offline)
        if verbose:
            print(f"Downloading {', '.join(missing)} into {dest} ...", flush=True)
        _run(download_command(work, missing), offline, cwd=dest)
    found = find_debs(dest, packages)
    lost = [p for p in packages if p not in found]
    if lost:
        raise KerasftError(f"apt-get download left no {lost} .deb in {str(dest)!r}. {offline}")
    return found


def extract_deb(deb: Path, dest: Path) -> Path:
    """Unpack the files of `deb` under `dest` with `dpkg-deb -x` (nothing installed); return dest.

    Args:
        deb: a `.deb` file.
        dest: the folder to unpack into (created).
    """
    dest.mkdir(parents=True, exist_ok=True)
    try:
        result = subprocess.run(["dpkg-deb", "-x", str(deb), str(dest)], capture_output=True)
    except OSError:
        raise KerasftError(
            "dpkg-deb not found: unpacking Debian packages needs dpkg (Debian or Ubuntu)."
        ) from None
    if result.returncode != 0:
        raise KerasftError(
            f"`dpkg-deb -x {deb} {dest}` failed: {result.stderr.decode(errors='replace')[-500:]}"
            " Delete the file and run the command again to download it anew."
        )
    return dest
