"""Import what a `"module:attribute"` string names (the form of entry points and lazy exports)."""

from __future__ import annotations

import importlib


def load_target(target: str) -> object:
    """The object `target` names: `"pkg.module:attr"` (or `"...:attr.sub"`), or a module alone
    as `"pkg.module"`.

    Args:
        target: the import path, module and attribute joined by a colon.

    Raises:
        ImportError: the module cannot be imported.
        AttributeError: the module has no such attribute.
    """
    module, _, attribute = target.partition(":")
    obj = importlib.import_module(module)
    for part in attribute.split(".") if attribute else []:
        obj = getattr(obj, part)
    return obj
