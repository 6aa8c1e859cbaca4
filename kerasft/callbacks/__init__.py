"""Every callback a fine-tuning run needs, from one import: kerasft's, Keras's own and plugins'.

    import kerasft as kft
    model.fit(
        x, y, epochs=5, verbose=0,
        callbacks=[
            kft.callbacks.get("one_cycle", max_lr=1e-3),   # by name, as a YAML config does
            kft.callbacks.ReduceLROnPlateau(patience=2),   # Keras's own, re-exported
            kft.callbacks.ProgressBar(),
        ],
    )

`get(name, **kwargs)` builds any callback by name, `from_config([...])` a list of them, `names()`
lists the names. kerasft's callback classes are imported on first access, so this package imports
(and Keras's callbacks work) even when one of their modules is broken.
"""

from __future__ import annotations

from typing import Any

from keras.callbacks import Callback

from kerasft._targets import load_target
from kerasft.callbacks.registry import (
    KERAS_CALLBACKS,
    KERASFT_CALLBACKS,
    entries,
    from_config,
    get,
    get_class,
    names,
)

# Every name below comes from the registry's one table of callbacks: Keras's own classes are
# re-exported now, kerasft's are served lazily (name -> "module:attribute") on first access.
_KERAS: dict[str, Any] = {}
for _target in KERAS_CALLBACKS.values():
    _KERAS[_target.rpartition(":")[2]] = load_target(_target)
globals().update(_KERAS)
del _target
_LAZY: dict[str, str] = {target.rpartition(":")[2]: target for target in KERASFT_CALLBACKS.values()}
_LAZY["find_lr"] = "kerasft.callbacks.lr_finder:find_lr"  # a function beside its LRFinder

__all__ = [
    "Callback",
    *sorted(_KERAS),
    "entries",
    "from_config",
    "get",
    "get_class",
    "names",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        value = load_target(target)
    except (ImportError, AttributeError) as err:
        module = target.partition(":")[0]
        raise AttributeError(
            f"kerasft.callbacks.{name} is unavailable: {module} could not be imported "
            f"({type(err).__name__}: {err})."
        ) from err
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
