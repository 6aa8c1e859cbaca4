"""No import cycles in kerasft/: the graph of its imports, read from the sources with `ast`.

An edge `a -> b` is any import statement of `a` naming `b`: at module level, in class bodies,
in `try`/`if` blocks and in function bodies too. A deferred import inside a function only
hides a cycle (it was how `cache/manage.py` <-> `cache/store.py` went unnoticed), so it
counts. `if TYPE_CHECKING:` blocks never run and do not count. `from p import x` points at
the submodule `p.x` when there is one, else at `p`. Importing `p.q.r` also runs
`p/__init__.py`; that implicit edge is not counted (every module imports `kerasft.errors`,
and `kerasft/__init__.py` loads its attributes lazily).
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _module_names(package_dir: Path) -> dict[str, Path]:
    names = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST):
    """The Import / ImportFrom nodes of a module, outside `if TYPE_CHECKING:` blocks."""
    stack = list(ast.iter_child_nodes(tree))
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def import_graph(package_dir: Path) -> dict[str, set[str]]:
    """`{module: the modules of the same package that it imports}`."""
    modules = _module_names(package_dir)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in _imports(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = name.split(".")
                    # `from . import x` in a package's __init__ is relative to the package.
                    drop = node.level - 1 if is_package else node.level
                    anchor = anchor[: len(anchor) - drop] if drop else anchor
                    base = ".".join(anchor + ([base] if base else []))
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                    for alias in node.names
                ]
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as `[a, b, ..., a]`, or None when the graph has none."""
    done: set[str] = set()
    for start in sorted(graph):
        if start in done:
            continue
        path, on_path = [start], {start}
        iterators = [iter(sorted(graph[start]))]
        while iterators:
            nxt = next(iterators[-1], None)
            if nxt is None:
                iterators.pop()
                done.add(path[-1])
                on_path.discard(path.pop())
            elif nxt in on_path:
                return path[path.index(nxt) :] + [nxt]
            elif nxt not in done:
                path.append(nxt)
                on_path.add(nxt)
                iterators.append(iter(sorted(graph[nxt])))
    return None


def test_kerasft_has_no_import_cycle():
    graph = import_graph(ROOT / "kerasft")
    assert len(graph) > 50, "the walk found too few modules; is ROOT right?"
    assert any(graph.values()), "the walk found no imports at all"
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle in kerasft/: " + " -> ".join(cycle)


def _write_package(root: Path, files: dict[str, str]) -> Path:
    for relative, source in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source), encoding="utf-8")
    return root / "pkg"


@pytest.mark.parametrize(
    "a_source",
    [
        "from pkg.sub import b\n",
        "import pkg.sub.b\n",
        "from .sub import b\n",
        "from pkg.sub.b import thing\n",
        "try:\n    from pkg.sub.b import thing\nexcept ImportError:\n    thing = None\n",
        "class A:\n    from pkg.sub.b import thing\n",
        "def f():\n    from pkg.sub import b\n    return b\n",
    ],
)
def test_a_cycle_is_found_and_named(tmp_path, a_source):
    package = _write_package(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": a_source,
            "pkg/sub/__init__.py": "",
            "pkg/sub/b.py": "from ..c import helper\nthing = 1\n",
            "pkg/c.py": "import pkg.a\nhelper = 2\n",
        },
    )
    cycle = find_cycle(import_graph(package))
    assert cycle is not None
    assert set(cycle) == {"pkg.a", "pkg.sub.b", "pkg.c"}
    assert cycle[0] == cycle[-1]


def test_type_checking_imports_and_parent_packages_are_not_edges(tmp_path):
    package = _write_package(
        tmp_path,
        {
            "pkg/__init__.py": "from pkg.a import f\n",
            "pkg/a.py": """
                from typing import TYPE_CHECKING

                if TYPE_CHECKING:
                    from pkg.b import g

                def f():
                    return 1
            """,
            "pkg/b.py": "from pkg.a import f\n\ndef g():\n    return f()\n",
        },
    )
    graph = import_graph(package)
    assert graph == {"pkg": {"pkg.a"}, "pkg.a": set(), "pkg.b": {"pkg.a"}}
    assert find_cycle(graph) is None
