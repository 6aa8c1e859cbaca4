"""The README's sections as the tests that run them read them: text, shell commands, YAML."""

from __future__ import annotations

import re
from pathlib import Path

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def section(title: str) -> str:
    """The text of `## title`, up to the next `## ` heading."""
    text = README[README.index(f"## {title}\n") :]
    return text[: text.index("\n## ")]


def commands(text: str) -> list[str]:
    """The `kerasft ...` lines of the ```sh blocks of `text`, comments cut off, in order."""
    return [
        line.split("#")[0].strip()
        for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S)
        for line in block.splitlines()
        if line.startswith("kerasft ")
    ]


def yaml_blocks(text: str) -> list[str]:
    """The ```yaml blocks of `text`."""
    return re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
