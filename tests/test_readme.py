"""The README's commands are real: each parses, the quick ones run, `make` targets exist."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from kerasft.cli.main import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
COMMANDS = [
    line.split("#")[0].strip()
    for block in re.findall(r"```sh\n(.*?)```", README, flags=re.S)
    for line in block.splitlines()
    if line.strip() and not line.startswith(" ")
]
# Commands cheap enough to run in the suite (the others are run by their own tests or by CI).
QUICK = {"kerasft weights list", "kerasft backbones", "kerasft plugins", "kerasft cache ls"}


def test_readme_starts_with_the_two_commands():
    first = re.search(r"```sh\n(.*?)```", README, flags=re.S).group(1).splitlines()
    assert [line.split("#")[0].strip() for line in first] == ["make demo", "make test"]


@pytest.mark.parametrize("command", [c for c in COMMANDS if c.startswith("kerasft ")])
def test_kerasft_commands_parse(command, capsys):
    args = shlex.split(command)[1:]
    parsed = build_parser().parse_args(args)
    assert callable(parsed.func)
    if command in QUICK:
        assert main(args) == 0
        assert capsys.readouterr().out.strip()


@pytest.mark.parametrize("command", [c for c in COMMANDS if c.startswith("make ")])
def test_make_targets_exist(command):
    target = command.split()[1]
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", target], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    if target == "demo":
        assert result.stdout.strip().splitlines()[-1].endswith("kerasft fit")
