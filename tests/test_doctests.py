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

# Modules whose examples still lean on their module's globals (they call the documented object
# without importing it). The training engine is being rewritten (issue 11); the engineer who
# rewrites it adds the imports and empties this list.
MODULE_GLOBALS_YET: tuple[str, ...] = ()  # every module is checked


def _examples(name: str) -> list[doctest.DocTest]:
    module = importlib.import_module(name)
    # Empty globals, not the module's: an example that uses `np` without importing it fails
    # here as it would for a reader who copies it.
    lenient = any(name == m or name.startswith(m + ".") for m in MODULE_GLOBALS_YET)
    globs = None if lenient else {}
    tests = doctest.DocTestFinder(exclude_empty=True).find(module, name, globs=globs)
    # Only the module's own objects: re-exported ones are tested in their home module.
    return [t for t in tests if t.examples and t.filename == getattr(module, "__file__", None)]


def _failures(tests: list[doctest.DocTest]) -> list[str]:
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report = []
    for test in tests:
        out = []
        result = runner.run(test, out=out.append)
        if result.failed:
            report.append("".join(out))
    return report


def _prompts_in_source(name: str) -> int:
    """`>>> ` prompts in the module's file: each should be an example the finder found."""
    path = getattr(importlib.import_module(name), "__file__", None)
    text = Path(path).read_text() if path else ""
    return sum(1 for line in text.splitlines() if line.lstrip().startswith(">>> "))


def test_the_examples_are_found():
    # A broken finder would make every test below pass on nothing.
    assert len(MODULES) > 100
    found = {name: len(_examples(name)) for name in MODULES}
    assert sum(found.values()) >= 60, found
    assert found["kerasft.training.fine_tune"] >= 1
    # An example the finder skips (on an object it does not walk, a docstring that is not one)
    # never runs: every prompt in a module's file must belong to an example found there.
    missed = {}
    for name in MODULES:
        examples = sum(len(t.examples) for t in _examples(name))
        if examples != _prompts_in_source(name):
            missed[name] = (examples, _prompts_in_source(name))
    assert not missed, f"(examples found, >>> prompts in the file): {missed}"


def test_an_example_that_uses_a_name_it_does_not_import_fails(tmp_path, monkeypatch):
    # guard.py's example once used `np` without importing it; its module's own globals (most
    # kerasft modules import numpy as np) must not make such an example pass.
    (tmp_path / "kerasft_doctest_probe.py").write_text(
        'import numpy as np\n\n\ndef f():\n    """>>> np.zeros(2).shape\n    (2,)\n    """\n'
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    [failure] = _failures(_examples("kerasft_doctest_probe"))
    assert "NameError: name 'np' is not defined" in failure


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report = _failures(_examples(name))
    assert not report, "\n".join(report)
