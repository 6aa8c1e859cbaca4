"""Warm start: continue fine-tuning an earlier run's model on new or more data."""

from __future__ import annotations

import os
from collections.abc import Sequence

import keras

from kerasft import model_file
from kerasft.builder.heads import HEAD_PREFIX, head_layers
from kerasft.errors import KerasftError
from kerasft.training.tasks import infer_task


def replace_head(model: keras.Model, num_classes: int, **head_kwargs) -> keras.Model:
    """The same model up to its head, with a freshly initialised head of `num_classes` outputs."""
    try:
        features = model.get_layer(f"{HEAD_PREFIX}_pool").input
    except ValueError:
        raise KerasftError(
            "This model has no kerasft head (layers named kft_head_*); build it with kft.build "
            "to re-initialise its head."
        ) from None
    x = features
    for layer in head_layers(infer_task(model), num_classes, **head_kwargs):
        x = layer(x)
    return keras.Model(model.input, x, name=model.name)


def warm_start(
    source: str | os.PathLike,
    class_names: Sequence[str],
    *,
    reinit_head: bool = False,
) -> keras.Model:
    """Load an earlier run's model to fine-tune further on data with `class_names`.

    The class set must match the earlier run's (same names, same order), else a clear error
    says so, unless `reinit_head=True` replaces the head with a new one for `class_names`.

    Example:

    >>> import kerasft as kft
    >>> from kerasft.training.warm_start import warm_start  # needs an earlier run:
    >>> model = warm_start("runs/fit-20261123-101500", class_names)  # doctest: +SKIP
    >>> kft.fine_tune(model, (x_new, y_new), epochs=(0, 2))  # doctest: +SKIP
    """
    loaded = model_file.load(source)  # class names: the file's own, else its run directory's
    model, previous = loaded.model, loaded.class_names
    class_names = list(class_names)
    if reinit_head:
        return replace_head(model, len(class_names))
    if previous is not None and list(previous) != class_names:
        raise KerasftError(
            f"The model in {os.fspath(source)!r} was trained on classes {previous}, but this data "
            f"has {class_names}. Use data with the same classes in the same order, or pass "
            "reinit_head=True (kerasft fit --set reinit_head=true) to start a new head."
        )
    if model.output_shape[-1] != len(class_names) and infer_task(model) == "multiclass":
        raise KerasftError(
            f"The model in {os.fspath(source)!r} has {model.output_shape[-1]} outputs but the data "
            f"has {len(class_names)} classes; pass reinit_head=True to start a new head."
        )
    return model
