"""Callbacks that other installed packages register under the `kerasft.callbacks` entry point group.

A package makes its callback available by name with one line in its `pyproject.toml`:

    [project.entry-points."kerasft.callbacks"]
    mlflow = "kerasft_mlflow:MLflowLogger"

after which `kft.callbacks.get("mlflow", ...)`, a `callbacks: [{name: mlflow}]` entry of a
`kerasft fit` config and `kerasft plugins` all find it. Entry points are only read here; a plugin's
module is imported when its callback is first asked for, so a broken plugin costs nothing until
then, and even then it is reported once and never breaks the other callbacks.

    from kerasft.callbacks import plugins
    for plugin in plugins.discover().values():
        print(plugin.name, plugin.origin, plugin.target)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points

from kerasft._targets import load_target
from kerasft.errors import KerasftError

GROUP = "kerasft.callbacks"


class PluginWarning(UserWarning):
    """An installed callback plugin is broken or shadowed and is skipped."""


# What has been reported already, so each problem is one warning per process, not one per lookup.
_reported: set[tuple[str, str]] = set()


@dataclass(frozen=True)
class Plugin:
    """One callback that an installed distribution registers."""

    name: str
    target: str
    package: str | None = None
    version: str | None = None
    entry_point: EntryPoint | None = field(default=None, compare=False, repr=False)

    @property
    def origin(self) -> str:
        """The registering distribution as `name version`, as `kerasft plugins` prints it."""
        if self.package is None:
            return "unknown distribution"
        return f"{self.package} {self.version}" if self.version else self.package

    def load(self) -> type:
        """Import the plugin and return its callback class.

        Raises:
            KerasftError: the module fails to import, or the object is not a `keras.callbacks.Callback`
                subclass. The message names the plugin, its distribution and the original error.
        """
        import keras

        try:
            obj = self.entry_point.load() if self.entry_point else load_target(self.target)
        except Exception as err:  # any error inside third-party code must not escape as-is
            raise KerasftError(
                f"Callback plugin {self.name!r} ({self.target}, from {self.origin}) failed to "
                f"import: {type(err).__name__}: {err}. Reinstall or uninstall {self.package or 'it'}."
            ) from err
        if not (isinstance(obj, type) and issubclass(obj, keras.callbacks.Callback)):
            raise KerasftError(
                f"Callback plugin {self.name!r} ({self.target}, from {self.origin}) points to "
                f"{obj!r}, which is not a keras.callbacks.Callback subclass."
            )
        return obj


def warn_once(key: str, message: str) -> None:
    """Warn with `message` unless a warning for `key` was given already in this process."""
    if (key, message) in _reported:
        return
    _reported.add((key, message))
    warnings.warn(message, PluginWarning, stacklevel=3)


def discover(reserved: set[str] | frozenset[str] = frozenset()) -> dict[str, Plugin]:
    """All callback plugins of the installed distributions, by name, without importing them.

    Args:
        reserved: names taken by built-in callbacks. A plugin with such a name is skipped (with a
            warning) so that installing a package never changes what a built-in name means.
    """
    plugins: dict[str, Plugin] = {}
    for ep in entry_points(group=GROUP):
        dist = getattr(ep, "dist", None)
        plugin = Plugin(
            name=ep.name,
            target=ep.value,
            package=dist.name if dist is not None else None,
            version=dist.version if dist is not None else None,
            entry_point=ep,
        )
        if ep.name in reserved:
            warn_once(
                ep.name,
                f"Callback plugin {ep.name!r} from {plugin.origin} is skipped: the name belongs to "
                f"a built-in callback. Rename the entry point in that package.",
            )
            continue
        seen = plugins.get(ep.name)
        if seen is not None:
            # The same distribution found twice on sys.path (e.g. editable + wheel) is harmless.
            if seen.target != plugin.target:
                warn_once(
                    ep.name,
                    f"Callback plugin {ep.name!r} is registered by both {seen.origin} "
                    f"({seen.target}) and {plugin.origin} ({plugin.target}); using the first.",
                )
            continue
        plugins[ep.name] = plugin
    return plugins


def load_all(
    reserved: set[str] | frozenset[str] = frozenset(),
) -> tuple[dict[str, type], dict[str, str]]:
    """Import every plugin: `(classes by name, error messages by name)`.

    A plugin that fails is reported once with a `PluginWarning` carrying its error, and left out of
    the classes; the others load normally.
    """
    loaded: dict[str, type] = {}
    failed: dict[str, str] = {}
    for name, plugin in discover(reserved).items():
        try:
            loaded[name] = plugin.load()
        except KerasftError as err:
            failed[name] = str(err)
            warn_once(name, str(err))
    return loaded, failed
