"""Every docstring example in kerasft (and its first-party plugins) runs and prints what it says.

One test per module, run here rather than by `--doctest-modules` so the suite's set-up (no
network, a fresh feature cache) holds for them too, each in a fresh working directory.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

import kerasft

ROOT = Path(__file__).resolve().parents[1]


def _modules() -> list[str]:
    names = [m.name for m in pkgutil.walk_packages(kerasft.__path__, "kerasft.")]
    for plugin in sorted((ROOT / "plugins").glob("*/kerasft_*/__init__.py")):
        plugin = plugin.parent
        names += [plugin.name] + [
            m.name for m in pkgutil.walk_packages([str(plugin)], plugin.name + ".")
        ]
    return sorted(n for n in names if not n.endswith("__main__"))  # that one runs the CLI


MODULES = _modules()


def _examples(name: str) -> list[doctest.DocTest]:
    module = importlib.import_module(name)
    tests = doctest.DocTestFinder(exclude_empty=True).find(module, name)
    # Only the module's own objects: re-exported ones are tested in their home module.
    return [t for t in tests if t.examples and t.filename == getattr(module, "__file__", None)]


def test_the_examples_are_found():
    # A broken finder would make every test below pass on nothing.
    assert len(MODULES) > 100
    found = {name: len(_examples(name)) for name in MODULES}
    assert sum(found.values()) >= 60, found
    assert found["kerasft.training.fine_tune"] == 1


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tests = _examples(name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report = []
    for test in tests:
        out = []
        result = runner.run(test, out=out.append)
        if result.failed:
            report.append("".join(out))
    assert not report, "\n".join(report)
