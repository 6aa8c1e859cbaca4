"""LoRA on kerasft models: low-rank adapters on the backbone, saved alone, merged for export.

`enable_lora(model, rank)` puts Keras's own LoRA (`Dense`, `EinsumDense` and `Conv`
layers' `enable_lora`) on the backbone: on a transformer's attention query and value
projections (the layers KerasHub's `Backbone.enable_lora` targets), else on every `Conv2D`
(not depthwise) and `Dense` layer of an image backbone. Each target's kernel then reads
`kernel + lora_kernel_a @ lora_kernel_b` (scaled by `alpha / rank`), with `lora_kernel_b`
starting at zero, so enabling changes no prediction. `kft.unfreeze` (and so phase 2 of
`kft.fine_tune`) then trains only the adapters of the unfrozen blocks, and the head.

`save_adapters` writes only the adapters and the head (a MiniLM at rank 4: about 0.9 MB,
against 90 MB for the model); `load_adapters` puts them into a freshly built model.
`merge_lora` returns a plain model (no LoRA in its config, kernels with the adapters added),
to save, reload with plain Keras and export.

Example:

>>> import numpy as np, kerasft as kft
>>> model = kft.build("mobilenet", 3, input_shape=(32, 32, 3), weights=None)
>>> _ = kft.enable_lora(model, rank=4)
>>> len(kft.lora.lora_layers(model))  # the stem conv and the 13 pointwise convs
14
>>> x = np.random.randint(0, 255, (2, 32, 32, 3)).astype("uint8")
>>> plain = kft.merge_lora(model)
>>> bool(np.allclose(plain.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5))
True
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np

from kerasft import compat
from kerasft.backbones.adapters import (  # noqa: F401 - part of kerasft.lora's API
    ATTENTION_TARGETS,
    IMAGE_TARGET_TYPES,
    adapters,
    add_adapters,
    is_lora_layer,
)
from kerasft.builder.build import get_backbone
from kerasft.errors import KerasftError
from kerasft.freezing import outer_layers

FORMAT = "kerasft-lora"
VERSION = 1


def lora_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The layers of `model`'s backbone that carry LoRA adapters.

    Args:
        model: a `kft.build` model, or any Keras model.
    """
    return [layer for layer in compat.sublayers(get_backbone(model)) if is_lora_layer(layer)]


def lora_rank(model: keras.Model) -> int | None:
    """The rank of `model`'s LoRA adapters, or None when it has none.

    Args:
        model: a `kft.build` model, or any Keras model.
    """
    layers = lora_layers(model)
    return int(layers[0].lora_rank) if layers else None


def enable_lora(
    model: keras.Model,
    rank: int,
    *,
    targets: Sequence[str] | None = None,
    alpha: float | None = None,
) -> keras.Model:
    """Put LoRA adapters of `rank` on `model`'s backbone; returns `model`.

    The adapters start at zero (predictions do not change). In a frozen layer they are
    frozen too; `kft.unfreeze` (or phase 2 of `kft.fine_tune`) makes the unfrozen blocks
    train their adapters and nothing else of them. Layers that already have adapters of
    this rank are left as they are.

    Args:
        model: a `kft.build` model (text or image), or any built Keras model.
        rank: the adapters' inner dimension, a positive integer (4 and 8 are usual).
        targets: names of the layers to adapt; by default the attention query and value
            projections (`ATTENTION_TARGETS`) of a transformer, else every `Conv2D` (not
            depthwise) and `Dense` layer of the backbone.
        alpha: the adapters' scale is `alpha / rank`; by default `rank` (a scale of 1).

    Raises:
        KerasftError: a rank that is not a positive integer, a model without target layers,
            or adapters of another rank already on it.

    Example:

    >>> import kerasft as kft
    >>> model = kft.build("mobilenet", 3, input_shape=(32, 32, 3), weights=None)
    >>> kft.enable_lora(model, 4) is model
    True
    """
    add_adapters(get_backbone(model), rank, targets=targets, alpha=alpha)
    return model


def _variables(model: keras.Model) -> dict[str, dict[str, keras.Variable]]:
    """`{"adapters": {path: variable}, "head": {path: variable}}` of a LoRA model."""
    groups: dict[str, dict[str, keras.Variable]] = {"adapters": {}, "head": {}}
    for layer in lora_layers(model):
        for variable in adapters(layer):
            groups["adapters"][variable.path] = variable
    for layer in outer_layers(model):
        for variable in layer.weights:
            groups["head"][variable.path] = variable
    count = sum(len(adapters(layer)) for layer in lora_layers(model))
    if len(groups["adapters"]) != count:
        raise KerasftError(
            "save_adapters: two adapter variables share a path (layers with the same name "
            "in one scope); give the backbone's layers unique names."
        )
    return groups


def _target_names(model: keras.Model) -> list[str]:
    return sorted({layer.name for layer in lora_layers(model)})


def save_adapters(model: keras.Model, path: str | os.PathLike) -> Path:
    """Write only `model`'s LoRA adapters and its head's weights to one small `.h5` file.

    The file also records the rank, the scale and the adapted layers' names, so
    `load_adapters` can put them into a freshly built model.

    Args:
        model: a model with LoRA adapters (`enable_lora`).
        path: the file to write (e.g. `adapters.weights.h5`).

    Returns:
        The path written.

    Raises:
        KerasftError: the model has no LoRA adapters.

    Example:

    >>> import os, tempfile, kerasft as kft
    >>> model = kft.enable_lora(kft.build("mobilenet", 3, input_shape=(32, 32, 3),
    ...                                   weights=None), 2)
    >>> path = kft.save_adapters(model, os.path.join(tempfile.mkdtemp(), "a.weights.h5"))
    >>> path.stat().st_size < 400_000
    True
    """
    import h5py

    layers = lora_layers(model)
    if not layers:
        raise KerasftError(
            "save_adapters: the model has no LoRA adapters. Call kft.enable_lora(model, rank) "
            "(or fine_tune(..., lora_rank=4)) first, or save the whole model with model.save."
        )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with h5py.File(tmp, "w") as f:
        f.attrs["format"] = FORMAT
        f.attrs["version"] = VERSION
        f.attrs["rank"] = int(layers[0].lora_rank)
        f.attrs["alpha"] = float(layers[0].lora_alpha)
        f.attrs["targets"] = _target_names(model)
        f.attrs["backbone"] = get_backbone(model).name
        for group, variables in _variables(model).items():
            g = f.create_group(group)
            for name, variable in variables.items():
                # "/" in a variable path would make h5py nest groups; keep one flat name.
                g.create_dataset(name.replace("/", "|"), data=keras.ops.convert_to_numpy(variable))
    os.replace(tmp, path)
    return path


def _read(path: Path) -> dict:
    import h5py

    if not path.is_file():
        raise KerasftError(f"load_adapters: no such file {os.fspath(path)!r}.")
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("format") != FORMAT:
                raise KerasftError(
                    f"load_adapters: {os.fspath(path)!r} is not a kerasft adapters file (write "
                    "one with kft.save_adapters); a whole model loads with "
                    "keras.models.load_model."
                )
            return {
                "rank": int(f.attrs["rank"]),
                "alpha": float(f.attrs["alpha"]),
                "targets": [str(t) for t in f.attrs["targets"]],
                "backbone": str(f.attrs["backbone"]),
                **{
                    group: {k.replace("|", "/"): np.asarray(v) for k, v in f[group].items()}
                    for group in ("adapters", "head")
                },
            }
    except OSError as err:
        raise KerasftError(
            f"load_adapters: {os.fspath(path)!r} is not an HDF5 file ({err})."
        ) from None


def load_adapters(model: keras.Model, path: str | os.PathLike) -> keras.Model:
    """Load adapters and head weights `save_adapters` wrote into `model`; returns `model`.

    A model without adapters gets them first (`enable_lora` with the file's rank, scale
    and target layers), so a freshly built model of the same backbone and head takes them.

    Args:
        model: a model built as the saved one was (same backbone, head and classes).
        path: a file `save_adapters` wrote.

    Raises:
        KerasftError: the file is not an adapters file, or it was saved from a model of
            another shape (other backbone, rank, head or number of classes).
    """
    path = Path(path)
    saved = _read(path)
    if not lora_layers(model):
        try:
            enable_lora(model, saved["rank"], targets=saved["targets"], alpha=saved["alpha"])
        except KerasftError as err:
            raise KerasftError(
                f"load_adapters: {os.fspath(path)!r} was saved from backbone "
                f"{saved['backbone']!r} and does not fit this model ({err})"
            ) from None
    elif lora_rank(model) != saved["rank"]:
        raise KerasftError(
            f"load_adapters: {os.fspath(path)!r} holds rank-{saved['rank']} adapters, the model "
            f"has rank {lora_rank(model)}. Build a fresh model (load_adapters enables the "
            "file's rank), or enable_lora with the same rank."
        )
    mine = _variables(model)
    for group, variables in mine.items():
        extra = sorted(set(saved[group]) - set(variables))
        absent = sorted(set(variables) - set(saved[group]))
        wrong = [
            f"{name} {saved[group][name].shape} != {tuple(v.shape)}"
            for name, v in variables.items()
            if name in saved[group] and saved[group][name].shape != tuple(v.shape)
        ]
        if extra or absent or wrong:
            what = (
                f"shapes differ: {wrong[0]}"
                if wrong
                else f"the file has {extra[0]!r}"
                if extra
                else f"the file lacks {absent[0]!r}"
            )
            raise KerasftError(
                f"load_adapters: {os.fspath(path)!r} does not fit this model's {group} "
                f"({what}). It was saved from backbone {saved['backbone']!r}; build the model "
                "as that one was built (same backbone, head, number of classes and rank)."
            )
    for group, variables in mine.items():
        for name, variable in variables.items():
            variable.assign(saved[group][name])
    return model


def _without_lora(config):
    if isinstance(config, dict):
        return {
            k: _without_lora(v) for k, v in config.items() if k not in ("lora_rank", "lora_alpha")
        }
    if isinstance(config, list):
        return [_without_lora(v) for v in config]
    return config


def merge_lora(model: keras.Model) -> keras.Model:
    """A plain copy of `model` with each adapter added into its kernel: no LoRA left.

    The copy's config holds no `lora_rank`, its kernels are `kernel + scale * a @ b`, and
    it predicts what `model` predicts (to float rounding); it saves to `.keras`, reloads
    with `keras.models.load_model` (text models with `kerasft` imported, for their
    tokenizer layer) and exports (`kft.export`, `kerasft export`). It is not compiled;
    `model` itself is left unchanged.

    Args:
        model: a model with LoRA adapters.

    Raises:
        KerasftError: the model has no LoRA adapters.
    """
    if not lora_layers(model):
        raise KerasftError(
            "merge_lora: the model has no LoRA adapters, so it is plain already; save or "
            "export it as it is."
        )
    plain = type(model).from_config(_without_lora(model.get_config()))
    old = compat.sublayers(model, include_self=True)
    new = compat.sublayers(plain, include_self=True)

    # Weightless layers Keras names itself (dropout_3) get new numbers; the rest must match.
    def signature(layers):
        return [(type(layer), layer.name if layer.weights else "") for layer in layers]

    if signature(old) != signature(new):
        raise KerasftError(
            f"merge_lora: model {model.name!r} does not rebuild from its config with the same "
            "layers, so its weights cannot be carried over; save it with model.save instead."
        )
    with tempfile.TemporaryDirectory() as tmp:
        for i, (src, dst) in enumerate(zip(old, new)):
            # A LoRA layer stores its merged kernel (Keras's own `save_own_variables`), the
            # form a layer without LoRA loads.
            store: dict = {}
            src.save_own_variables(store)
            dst.load_own_variables(store)
            if callable(getattr(src, "save_assets", None)):
                # A tokenizer's vocabulary is an asset, not a variable.
                folder = os.path.join(tmp, str(i))
                os.makedirs(folder)
                src.save_assets(folder)
                dst.load_assets(folder)
    return plain
