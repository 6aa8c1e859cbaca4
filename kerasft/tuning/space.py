"""The search space of `kft.tune`: which fine-tuning hyperparameters vary, and over what.

Every parameter has a default range; any of them can be fixed (a scalar), given a list of
choices, re-ranged (`{min, max, sampling, step}`) or dropped (None: the base config's value).

Example:

>>> from kerasft.tuning.space import SearchSpace
>>> space = SearchSpace({"backbone": ["mobilenet"], "lr": {"min": 1e-4, "max": 1e-2},
...                      "batch_size": 32})
>>> space["batch_size"].kind, space["lr"].sampling
('fixed', 'log')
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kerasft.errors import KerasftError, did_you_mean

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "cosine", "one_cycle", "step_decay")


@dataclass
class Param:
    """One hyperparameter: `kind` is "choice", "float", "int" or "fixed"."""

    name: str
    kind: str
    values: list = field(default_factory=list)
    min: float | None = None
    max: float | None = None
    sampling: str = "linear"
    step: float | None = None
    default: Any = None
    # (parent name, parent values) for conditional parameters, e.g. momentum only for SGD.
    condition: tuple[str, tuple] | None = None

    def grid(self, points: int = 3) -> list:
        """The values a sweep or a grid tries: every choice, or `points` across a range."""
        if self.kind == "fixed":
            return [self.default]
        if self.kind == "choice":
            return list(self.values)
        lo, hi = self.min, self.max
        if self.kind == "int":
            return sorted({int(round(lo + (hi - lo) * i / (points - 1))) for i in range(points)})
        if self.sampling == "log":
            return [float(lo * (hi / lo) ** (i / (points - 1))) for i in range(points)]
        return [float(lo + (hi - lo) * i / (points - 1)) for i in range(points)]

    def to_dict(self) -> dict:
        if self.kind == "fixed":
            return {"fixed": self.default}
        if self.kind == "choice":
            return {"values": list(self.values)}
        out = {"min": self.min, "max": self.max, "sampling": self.sampling}
        if self.step is not None:
            out["step"] = self.step
        return out


def _default_params() -> dict[str, Param]:
    p = Param
    params = [
        p("backbone", "choice", ["mobilenet", "mobilenet_v2", "efficientnet_b0"]),
        p("image_size", "choice", [96, 128, 160]),
        p("dropout", "float", min=0.0, max=0.5, step=0.1, default=0.2),
        p("hidden_units", "choice", [0, 128, 256]),
        p("l2", "choice", [0.0, 1e-5, 1e-4]),
        p("lr", "float", min=1e-4, max=1e-2, sampling="log", default=1e-3),
        p("ft_lr", "float", min=1e-5, max=1e-3, sampling="log", default=1e-4),
        p("unfreeze_blocks", "int", min=0, max=6, default=2),
        # LoRA adapters' rank (0: none, the unfrozen blocks train whole; else the adapters
        # alone); not tuned unless a space gives values, e.g. lora_rank: [0, 4, 8].
        p("lora_rank", "fixed"),
        p("optimizer", "choice", list(OPTIMIZERS)),
        p("momentum", "float", min=0.8, max=0.99, default=0.9, condition=("optimizer", ("sgd",))),
        p(
            "weight_decay",
            "choice",
            [0.0, 1e-5, 1e-4, 1e-3],
            condition=("optimizer", ("adamw", "sgd")),
        ),
        p("label_smoothing", "choice", [0.0, 0.1, 0.2]),
        # Text backbones: token ids per text; not tuned unless a space gives values.
        p("sequence_length", "fixed"),
        p("batch_size", "choice", [32, 64, 128]),
        p("head_epochs", "int", min=1, max=3, default=2),
        p("ft_epochs", "int", min=0, max=3, default=2),
        p("augmentation", "choice", ["none", "light", "medium"]),
        p("lr_schedule", "choice", list(SCHEDULES)),
    ]
    for param in params:
        if param.default is None and param.values:
            param.default = param.values[0]
    return {param.name: param for param in params}


# Parameters that only change the head or the head phase: trials differing only in these
# reuse the backbone's cached features (see kerasft.cache).
HEAD_PARAMS = ("dropout", "hidden_units", "l2", "lr", "label_smoothing", "head_epochs")


def _number(name: str, key: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise KerasftError(f"Search space {name!r}: {key}={value!r} must be a number.")
    return value


def _is_strength(value) -> bool:
    from kerasft.augment.audio_presets import STRENGTHS

    return value is None or (isinstance(value, str) and value.strip().lower() in STRENGTHS)


class SearchSpace:
    """The tunable hyperparameters, their ranges and conditions; validated on creation.

    Args:
        overrides: `{name: spec}`; spec is a scalar (fixed), a list (choices), a mapping
            `{min, max, sampling: linear|log, step}` or `{values: [...]}` or `{fixed: v}`,
            or None (not tuned: the base config's value is used).
        only: if given, tune only these parameters; all others keep the base config's value.

    Raises:
        KerasftError: for an unknown parameter, an empty choice, min > max, an unknown
            backbone, optimizer, augmentation preset or schedule; before any trial runs.
    """

    def __init__(
        self,
        overrides: Mapping[str, Any] | None = None,
        *,
        only: list[str] | None = None,
    ):
        self.params = _default_params()
        self.dropped: set[str] = set()
        if only is not None:
            for name in only:
                self._check_name(name)
            self.dropped = {n for n in self.params if n not in only}
        for name, spec in (overrides or {}).items():
            self.set(name, spec)

    def _check_name(self, name: str) -> None:
        if name not in self.params:
            raise KerasftError(
                f"Unknown search-space parameter {name!r}.{did_you_mean(name, self.params)} "
                f"Tunable parameters: {', '.join(self.params)}."
            )

    def set(self, name: str, spec: Any) -> SearchSpace:
        """Fix, re-range or drop one parameter (see the class docstring); returns self."""
        self._check_name(name)
        old = self.params[name]
        if spec is None:
            self.dropped.add(name)
            return self
        self.dropped.discard(name)
        param = Param(name, "fixed", condition=old.condition, default=old.default)
        if isinstance(spec, Mapping):
            unknown = set(spec) - {"min", "max", "sampling", "step", "values", "fixed", "default"}
            if unknown:
                raise KerasftError(
                    f"Search space {name!r}: unknown key(s) {sorted(unknown)}; use min, max, "
                    "sampling, step, values or fixed."
                )
            if "fixed" in spec:
                param.default = spec["fixed"]
            elif "values" in spec:
                param.kind, param.values = "choice", list(spec["values"] or [])
            else:
                if "min" not in spec or "max" not in spec:
                    raise KerasftError(
                        f"Search space {name!r}: a range needs both min and max, got {dict(spec)}."
                    )
                lo, hi = _number(name, "min", spec["min"]), _number(name, "max", spec["max"])
                is_int = isinstance(lo, int) and isinstance(hi, int) and old.kind in ("int",)
                param.kind = "int" if is_int else "float"
                param.min, param.max = lo, hi
                param.sampling = spec.get("sampling") or (
                    "log" if old.sampling == "log" and lo > 0 else "linear"
                )
                param.step = spec.get("step")
        elif isinstance(spec, (list, tuple)):
            param.kind, param.values = "choice", list(spec)
        else:
            param.default = spec
        if param.kind == "choice":
            if not param.values:
                raise KerasftError(
                    f"Search space {name!r}: empty list of choices; give at least one value "
                    f"(e.g. {old.grid()[:2]!r}) or a scalar to fix it."
                )
            kinds = {type(v) for v in param.values}
            if len(kinds) > 1 and not kinds <= {int, float}:
                raise KerasftError(
                    f"Search space {name!r}: choices {param.values!r} mix types "
                    f"({', '.join(sorted(k.__name__ for k in kinds))}); KerasTuner needs one."
                )
            if kinds == {int, float}:
                param.values = [float(v) for v in param.values]
            param.default = param.values[0]
        if param.kind in ("int", "float"):
            if param.min > param.max:
                raise KerasftError(
                    f"Search space {name!r}: min={param.min!r} > max={param.max!r}; swap them."
                )
            if param.sampling not in ("linear", "log"):
                raise KerasftError(
                    f"Search space {name!r}: sampling={param.sampling!r} must be linear or log."
                )
            if param.sampling == "log" and param.min <= 0:
                raise KerasftError(
                    f"Search space {name!r}: log sampling needs min > 0, got {param.min!r}."
                )
            if param.min == param.max:
                param.kind, param.default = "fixed", param.min
            else:
                param.default = (
                    min(max(old.default, param.min), param.max)
                    if isinstance(old.default, (int, float))
                    else param.min
                )
        self._check_values(name, [param.default] if param.kind == "fixed" else param.values)
        self.params[name] = param
        return self

    def _check_values(self, name: str, values: list) -> None:
        if name == "backbone":
            from kerasft.backbones import registry
            from kerasft.tuning.backbones import is_import_path, resolve

            known = registry.names()
            for v in values:
                if is_import_path(v):
                    resolve(v)  # fails now, naming the path, rather than in every trial
                elif v not in known:
                    raise KerasftError(
                        f"Search space 'backbone': unknown backbone {v!r}."
                        f"{did_you_mean(str(v), known)} See `kerasft backbones`."
                    )
        if name == "lora_rank":
            for v in values:
                if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                    raise KerasftError(
                        f"Search space 'lora_rank': {v!r} is not a rank; use integers >= 1 "
                        "(the adapters' rank) or 0 (no LoRA), e.g. [0, 4, 8]."
                    )
        allowed = {
            "optimizer": OPTIMIZERS,
            "lr_schedule": SCHEDULES,
            "augmentation": ("none", "light", "medium", "heavy", "randaugment"),
        }.get(name)
        if allowed:
            for v in values:
                if v not in allowed:
                    raise KerasftError(
                        f"Search space {name!r}: unknown value {v!r}."
                        f"{did_you_mean(str(v), allowed)} Choose from {', '.join(allowed)}."
                    )

    def __getitem__(self, name: str) -> Param:
        self._check_name(name)
        return self.params[name]

    def for_text(self) -> SearchSpace:
        """Leave out what only images have (image size, augmentation) and, unless the space
        names text backbones, the backbone; returns self."""
        from kerasft.backbones.text_presets import is_text_backbone

        self.dropped |= {"image_size", "augmentation"}
        backbone = self.params["backbone"]
        if not all(is_text_backbone(v) for v in (backbone.values or [backbone.default])):
            self.dropped.add("backbone")
        return self

    def for_audio(self) -> SearchSpace:
        """Leave out the image size and, unless the space names only audio backbones and
        audio augmentation strengths (`kft.augment.STRENGTHS`), the backbone and the
        augmentation; returns self."""
        from kerasft.backbones.audio_presets import is_audio_backbone

        self.dropped.add("image_size")
        for name, fits in (("backbone", is_audio_backbone), ("augmentation", _is_strength)):
            param = self.params[name]
            if not all(fits(v) for v in (param.values or [param.default])):
                self.dropped.add(name)
        return self

    def tuned(self) -> list[Param]:
        """The parameters that take more than one value."""
        return [p for n, p in self.params.items() if n not in self.dropped and p.kind != "fixed"]

    def active(self, values: Mapping[str, Any], name: str) -> bool:
        condition = self.params[name].condition
        if condition is None:
            return True
        parent, parent_values = condition
        return values.get(parent, self._base_value(parent)) in parent_values

    def _base_value(self, name: str):
        return self.params[name].default

    def define(self, hp, base: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Register the space on a `keras_tuner.HyperParameters`; return this trial's values.

        Dropped parameters take the `base` config's value. Conditional parameters are declared
        inside `hp.conditional_scope`, so they are absent from trials where they do not apply.
        """
        values: dict[str, Any] = {}
        for name, param in self.params.items():
            if name in self.dropped:
                # An untuned lr_schedule is absent: the base config's schedules stay as they are.
                if name != "lr_schedule":
                    values[name] = _from_base(name, base, param)
                continue
            if param.condition is not None:
                parent, parent_values = param.condition
                parent_value = values.get(parent)
                if parent in self.dropped or self.params[parent].kind == "fixed":
                    if parent_value not in parent_values:
                        continue
                    values[name] = self._declare(hp, param)
                    continue
                with hp.conditional_scope(parent, list(parent_values)):
                    value = self._declare(hp, param)
                if parent_value in parent_values:
                    values[name] = value
                continue
            values[name] = self._declare(hp, param)
        return values

    @staticmethod
    def _declare(hp, param: Param):
        if param.kind == "fixed":
            return param.default  # not tuned: kept out of hp so results stay readable
        if param.kind == "choice":
            return hp.Choice(param.name, param.values, default=param.default)
        if param.kind == "int":
            return hp.Int(
                param.name,
                int(param.min),
                int(param.max),
                step=int(param.step or 1),
                default=int(param.default),
            )
        return hp.Float(
            param.name,
            float(param.min),
            float(param.max),
            step=param.step,
            sampling=param.sampling,
            default=float(param.default),
        )

    def defaults(self) -> dict[str, Any]:
        return {n: p.default for n, p in self.params.items() if n not in self.dropped}

    def to_dict(self) -> dict[str, Any]:
        return {n: (None if n in self.dropped else p.to_dict()) for n, p in self.params.items()}

    def __repr__(self) -> str:
        return f"SearchSpace(tuned={[p.name for p in self.tuned()]})"


def _from_base(name: str, base: Mapping[str, Any] | None, param: Param):
    base = base or {}
    if name in ("head_epochs", "ft_epochs"):
        epochs = base.get("epochs", [2, 2])
        epochs = [epochs, epochs] if isinstance(epochs, int) else list(epochs)
        return epochs[0 if name == "head_epochs" else 1]
    if name == "hidden_units":
        units = base.get("hidden_units", [])
        return int(units[0]) if units else 0
    if name in ("momentum", "weight_decay"):
        return param.default
    if name == "augmentation":
        return base.get("augmentation") or "none"
    return base.get(name, param.default)


def to_config(values: Mapping[str, Any], base: Mapping[str, Any] | None = None) -> dict:
    """The `kerasft fit` config (kerasft/config.py keys only) of one trial's values.

    Args:
        values: the trial's hyperparameter values, `{name: value}`.
        base: the `kerasft fit` config keys the values override; by default the defaults.
    """
    from kerasft import config as config_module

    cfg = config_module.resolve(base)
    for key in (
        "backbone",
        "image_size",
        "dropout",
        "l2",
        "lr",
        "ft_lr",
        "unfreeze_blocks",
        "label_smoothing",
        "batch_size",
    ):
        if key in values:
            cfg[key] = values[key]
    for key in ("dropout", "l2", "lr", "ft_lr", "label_smoothing"):
        cfg[key] = float(cfg[key]) if cfg[key] is not None else None
    if values.get("sequence_length") is not None:
        cfg["sequence_length"] = int(values["sequence_length"])
    if values.get("lora_rank") is not None:
        cfg["lora_rank"] = int(values["lora_rank"]) or None
    if "hidden_units" in values:
        cfg["hidden_units"] = [int(values["hidden_units"])] if values["hidden_units"] else []
    epochs = list(cfg["epochs"])
    epochs[0] = int(values.get("head_epochs", epochs[0]))
    epochs[1] = int(values.get("ft_epochs", epochs[1]))
    cfg["epochs"] = epochs
    if "augmentation" in values:
        aug = values["augmentation"]
        cfg["augmentation"] = None if aug in (None, "none") else aug
    name = values.get("optimizer", cfg["optimizer"])
    extra = {}
    if name == "sgd" and "momentum" in values:
        extra["momentum"] = float(values["momentum"])
    if values.get("weight_decay"):
        extra["weight_decay"] = float(values["weight_decay"])
    cfg["optimizer"] = {"class_name": name, "config": extra} if extra else name
    if "lr_schedule" in values:
        # The trial's schedule replaces the base config's (callbacks and ft_schedule alike):
        # two schedules setting the rate at every batch would fight.
        callbacks = [c for c in cfg["callbacks"] if not _is_schedule(c)]
        schedule = values["lr_schedule"]
        if schedule == "cosine":
            # One cosine per phase, from its compiled rate down to zero.
            callbacks.append({"name": "phase_cosine", "phase": None})
        elif schedule == "one_cycle":
            callbacks.append({"name": "one_cycle"})
        elif schedule == "step_decay":
            callbacks.append({"name": "step_decay", "factor": 0.5, "every": 1})
        cfg["callbacks"] = callbacks
        cfg["ft_schedule"] = None
    return copy.deepcopy(cfg)


def _callback_name(spec) -> str | None:
    if isinstance(spec, str):
        return spec
    if isinstance(spec, Mapping):
        return spec.get("name", spec.get("class_name"))
    return None


def _is_schedule(spec) -> bool:
    """Whether a `callbacks:` entry is a learning-rate schedule (any spelling of its name)."""
    import keras

    from kerasft.callbacks import get_class
    from kerasft.callbacks.lr_schedule_callback import LRScheduleCallback

    name = _callback_name(spec)
    if not isinstance(name, str):
        return False
    try:
        cls = get_class(name)
    except KerasftError:
        return False  # reported with its position when the callbacks are built
    return issubclass(cls, (LRScheduleCallback, keras.callbacks.LearningRateScheduler))
