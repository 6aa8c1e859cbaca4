"""Error types and the helpers that make error messages name the bad value and the fix."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class KerasftError(ValueError):
    """A bad value given to kerasft. The message names the value and how to fix it."""


class ConfigError(KerasftError):
    """A bad key or value in a `kerasft fit`/`tune` configuration."""


def did_you_mean(name: str, options: Iterable[str], n: int = 3) -> str:
    """A ' Did you mean ...?' suffix for `name`, or '' when nothing is close."""
    options = list(options)
    close = difflib.get_close_matches(name, options, n=n, cutoff=0.5)
    if not close:
        lowered = {o.lower(): o for o in options}
        close = [
            lowered[k] for k in difflib.get_close_matches(name.lower(), lowered, n=n, cutoff=0.5)
        ]
    return f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""


def unknown_name(kind: str, name: str, options: Iterable[str]) -> KerasftError:
    """A clear error for an unknown `name` among `options` of some `kind`."""
    options = sorted(options)
    return KerasftError(
        f"Unknown {kind} {name!r}.{did_you_mean(name, options)} "
        f"Known {kind}s: {', '.join(options)}."
    )
