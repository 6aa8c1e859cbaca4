"""Callbacks by name: kerasft's, Keras's own and those of installed plugins.

This is what lets a `kerasft fit` YAML config say `callbacks: [{name: one_cycle, max_lr: 0.001}]`:

    import kerasft as kft
    one_cycle = kft.callbacks.get("one_cycle", max_lr=1e-3)
    callbacks = kft.callbacks.from_config(
        [{"name": "reduce_lr_on_plateau", "factor": 0.5}, "terminate_on_nan"]
    )

Modules are imported only when their callback is asked for, so one unfinished or broken module
never stops the others from working.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kerasft._targets import load_target
from kerasft.callbacks import plugins as _plugins
from kerasft.errors import ConfigError, KerasftError, did_you_mean, unknown_name

# The one table of callback names: `kft.callbacks` re-exports and lazily serves these classes,
# `get` builds them by name, `names()` lists them; nothing else lists callbacks.
# Keras's own callbacks, by the snake_case name of their class. EarlyStopping is left out on
# purpose: kerasft's subclass (which also restores the best weights across phases) takes the name.
KERAS_CALLBACKS: dict[str, str] = {
    "reduce_lr_on_plateau": "keras.callbacks:ReduceLROnPlateau",
    "backup_and_restore": "keras.callbacks:BackupAndRestore",
    "terminate_on_nan": "keras.callbacks:TerminateOnNaN",
    "swap_ema_weights": "keras.callbacks:SwapEMAWeights",
    "learning_rate_scheduler": "keras.callbacks:LearningRateScheduler",
    "model_checkpoint": "keras.callbacks:ModelCheckpoint",
    "csv_logger": "keras.callbacks:CSVLogger",
    "tensorboard": "keras.callbacks:TensorBoard",
    "lambda_callback": "keras.callbacks:LambdaCallback",
}

KERASFT_CALLBACKS: dict[str, str] = {
    "one_cycle": "kerasft.callbacks.one_cycle:OneCycle",
    "sgdr": "kerasft.callbacks.cosine_restarts:CosineRestarts",
    "warmup": "kerasft.callbacks.warmup:Warmup",
    "step_decay": "kerasft.callbacks.step_decay:StepDecay",
    "exponential_decay": "kerasft.callbacks.exponential_decay:ExponentialDecay",
    "polynomial_decay": "kerasft.callbacks.polynomial_decay:PolynomialDecay",
    "phase_cosine": "kerasft.callbacks.phase_cosine:PhaseCosine",
    "early_stopping": "kerasft.callbacks.early_stopping:EarlyStopping",
    "gradient_clipping": "kerasft.callbacks.gradient_clipping:GradientClipping",
    "gradient_norm": "kerasft.callbacks.gradient_norm:GradientNormMonitor",
    "gradual_unfreezing": "kerasft.callbacks.gradual_unfreezing:GradualUnfreezing",
    "lr_finder": "kerasft.callbacks.lr_finder:LRFinder",
    "nan_guard": "kerasft.callbacks.nan_guard:NaNGuard",
    "tensorboard_extras": "kerasft.callbacks.tensorboard_extras:TensorBoardExtras",
    "progress_bar": "kerasft.callbacks.progress:ProgressBar",
}

BUILTINS: dict[str, str] = {**KERASFT_CALLBACKS, **KERAS_CALLBACKS}


@dataclass(frozen=True)
class CallbackInfo:
    """Where a callback name comes from: `origin` is "kerasft", "keras" or "<package> <version>"."""

    name: str
    target: str
    origin: str


def _builtin_origin(name: str) -> str:
    return "keras" if name in KERAS_CALLBACKS else "kerasft"


def _aliases() -> dict[str, str]:
    """Other spellings users reach for: class names ("OneCycle") and dashes ("one-cycle")."""
    # EarlyStopping names kerasft's subclass: KERASFT_CALLBACKS comes first in BUILTINS.
    return {target.rpartition(":")[2]: name for name, target in BUILTINS.items()}


def _canonical(name: str) -> str:
    name = name.strip()
    if name in BUILTINS:
        return name
    alias = _aliases().get(name)
    if alias:
        return alias
    dashed = name.replace("-", "_").lower()
    return dashed if dashed in BUILTINS else name


def entries() -> list[CallbackInfo]:
    """Every callback name with its `module:Class` and origin, built-ins first; nothing is imported."""
    infos = [CallbackInfo(n, t, _builtin_origin(n)) for n, t in sorted(BUILTINS.items())]
    found = _plugins.discover(reserved=set(BUILTINS))
    infos += [CallbackInfo(p.name, p.target, p.origin) for _, p in sorted(found.items())]
    return infos


def names() -> list[str]:
    """Every name `get` accepts (kerasft's, Keras's and installed plugins'), sorted."""
    return sorted(info.name for info in entries())


def get_class(name: str) -> type:
    """The callback class registered under `name`, imported on first use.

    Args:
        name: a callback name (`names()`), its class name or a dashed spelling.

    Raises:
        KerasftError: `name` is unknown (the message lists close matches and all names), or its
            module fails to import.
    """
    if not isinstance(name, str):
        raise KerasftError(f"A callback name must be a string, got {name!r}.")
    canonical = _canonical(name)
    if canonical in BUILTINS:
        target = BUILTINS[canonical]
        try:
            return load_target(target)
        except (ImportError, AttributeError) as err:
            raise KerasftError(
                f"Callback {canonical!r} ({target}) could not be imported: "
                f"{type(err).__name__}: {err}."
            ) from err
    found = _plugins.discover(reserved=set(BUILTINS))
    if name in found:
        plugin = found[name]
        try:
            return plugin.load()
        except KerasftError as err:
            _plugins.warn_once(name, str(err))
            raise
    raise unknown_name("callback", name, list(BUILTINS) + list(found))


def _accepted_arguments(cls: type) -> tuple[list[str], list[str]]:
    """(keyword names, required names) that `cls(...)` takes.

    A `**kwargs` is followed up the class hierarchy, since subclasses pass them on to their base.
    Keras's ReduceLROnPlateau swallows unknown `**kwargs` silently, so trusting `**kwargs` would let
    a typo in a config go unnoticed.
    """
    import keras

    accepted: list[str] = []
    required: list[str] = []
    for klass in cls.__mro__:
        if klass is keras.callbacks.Callback or klass is object or "__init__" not in vars(klass):
            continue
        try:
            params = list(inspect.signature(klass.__init__).parameters.values())[1:]
        except (TypeError, ValueError):
            continue
        for p in params:
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in accepted:
                accepted.append(p.name)
                if p.default is p.empty and klass is cls:
                    required.append(p.name)
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    if issubclass(cls, keras.callbacks.LambdaCallback):
        # Its **kwargs are any other callback hooks.
        hooks = [n for n in dir(keras.callbacks.Callback) if n.startswith("on_")]
        accepted += [n for n in hooks if n not in accepted]
    return accepted, required


def _instantiate(name: str, cls: type, kwargs: dict[str, Any]) -> Any:
    accepted, required = _accepted_arguments(cls)
    shown = ", ".join(accepted) if accepted else "none"
    label = f"Callback {name!r} ({cls.__name__})"
    unexpected = [k for k in kwargs if k not in accepted]
    if unexpected:
        hints = "".join(did_you_mean(k, accepted, n=1) for k in unexpected)
        raise KerasftError(
            f"{label} got unexpected argument(s) {', '.join(map(repr, unexpected))}.{hints} "
            f"Accepted arguments: {shown}."
        )
    missing = [k for k in required if k not in kwargs]
    if missing:
        raise KerasftError(
            f"{label} is missing required argument(s) {', '.join(map(repr, missing))}. "
            f"Accepted arguments: {shown}."
        )
    try:
        return cls(**kwargs)
    except KerasftError:
        raise
    except (TypeError, ValueError) as err:
        raise KerasftError(
            f"{label} rejected its arguments: {err} Accepted arguments: {shown}."
        ) from err


def get(identifier: Any, **kwargs: Any):
    """A ready callback from a name, a `{"name": ..., **kwargs}` dict, a class or an instance.

    Args:
        identifier: a registered name (`names()` lists them; class names such as "OneCycle" work
            too), a dict with a "name" key plus the callback's arguments (Keras's
            `{"class_name": ..., "config": {...}}` form is accepted too), a `keras.callbacks.Callback`
            subclass, or an instance, which is returned as is.
        **kwargs: arguments of the callback; they override those of a dict.

    Returns:
        A `keras.callbacks.Callback` instance.

    Raises:
        KerasftError: unknown name (with close matches), bad or missing arguments (naming the
            callback and the arguments it accepts), or a plugin that fails to import.

    Example:

    >>> import kerasft as kft
    >>> kft.callbacks.get("reduce_lr_on_plateau", factor=0.5).factor
    0.5
    """
    import keras

    if isinstance(identifier, keras.callbacks.Callback):
        if kwargs:
            raise KerasftError(
                f"Got a ready {type(identifier).__name__} instance and extra arguments "
                f"{sorted(kwargs)}; pass either the instance or a name with arguments."
            )
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, keras.callbacks.Callback):
        return _instantiate(identifier.__name__, identifier, kwargs)
    if isinstance(identifier, Mapping):
        config = dict(identifier)
        if "name" in config:
            name = config.pop("name")
        elif "class_name" in config:
            name = config.pop("class_name")
            config = {**config.pop("config", {}), **config}
        else:
            raise KerasftError(
                f"A callback given as a dict needs a 'name' key, got keys {sorted(config)}. "
                f"Example: {{'name': 'one_cycle', 'max_lr': 0.001}}."
            )
        return get(name, **{**config, **kwargs})
    if isinstance(identifier, str):
        return _instantiate(_canonical(identifier), get_class(identifier), kwargs)
    raise KerasftError(
        f"Cannot make a callback from {identifier!r}: give a name such as 'one_cycle', a dict "
        f"{{'name': ..., **arguments}} or a keras.callbacks.Callback."
    )


def from_config(config: Iterable[Any] | Mapping[str, Any] | None) -> list:
    """Callbacks from the `callbacks:` entry of a config: a list of names/dicts, or `{name: kwargs}`.

    Args:
        config: a list of names or `{"name": ..., **kwargs}` dicts, a `{name: kwargs}` mapping,
            or None (no callbacks).

    Example:

    >>> import kerasft as kft
    >>> [type(c).__name__ for c in kft.callbacks.from_config(
    ...     [{"name": "csv_logger", "filename": "log.csv"}, "terminate_on_nan"])]
    ['CSVLogger', 'TerminateOnNaN']

    Raises:
        ConfigError: naming the position of the bad entry and what is wrong with it.
    """
    if config is None:
        return []
    if isinstance(config, Mapping):
        items = [
            {"name": k, **(v or {})} if isinstance(v, Mapping) or v is None else (k, v)
            for k, v in config.items()
        ]
    elif isinstance(config, (list, tuple)):
        items = list(config)
    else:
        raise ConfigError(
            f"'callbacks' must be a list such as [{{name: one_cycle, max_lr: 0.001}}], "
            f"got {type(config).__name__} {config!r}."
        )
    callbacks = []
    for i, item in enumerate(items):
        if isinstance(item, tuple):
            raise ConfigError(
                f"callbacks.{item[0]}: arguments must be a mapping such as "
                f"{{max_lr: 0.001}}, got {item[1]!r}."
            )
        try:
            callbacks.append(get(item))
        except KerasftError as err:
            raise ConfigError(f"callbacks[{i}]: {err}") from err
    return callbacks
