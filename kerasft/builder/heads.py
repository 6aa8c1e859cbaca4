"""Task heads: pooling, dropout, optional hidden layers and the output layer."""

from __future__ import annotations

import keras

from kerasft.errors import KerasftError, unknown_name

TASKS = {
    # task: (activation, how many output units for num_classes)
    "multiclass": ("softmax", lambda n: n),
    "binary": ("sigmoid", lambda n: 1),
    "multilabel": ("sigmoid", lambda n: n),
    "regression": (None, lambda n: n),
}
POOLINGS = {"avg": keras.layers.GlobalAveragePooling2D, "max": keras.layers.GlobalMaxPooling2D}
HEAD_PREFIX = "kft_head"


def head_layers(
    task: str,
    num_classes: int,
    pooling: str = "avg",
    dropout: float = 0.2,
    hidden_units: tuple[int, ...] = (),
    l1: float = 0.0,
    l2: float = 0.0,
) -> list[keras.layers.Layer]:
    """The head's layers, in call order, all named `kft_head_*`."""
    if task not in TASKS:
        raise unknown_name("task", task, TASKS)
    if pooling not in POOLINGS:
        raise unknown_name("pooling", pooling, POOLINGS)
    if not isinstance(num_classes, int) or num_classes < 1:
        raise KerasftError(
            f"num_classes={num_classes!r}: a head needs at least one output. Pass the number of "
            "classes (e.g. num_classes=10), or 1 for binary/regression."
        )
    if task == "binary" and num_classes > 2:
        raise KerasftError(
            f"task='binary' with num_classes={num_classes}: binary has one sigmoid output. "
            "Use task='multiclass' for more than two classes."
        )
    if not 0.0 <= dropout < 1.0:
        raise KerasftError(f"dropout={dropout!r} must be in [0, 1).")
    regularizer = keras.regularizers.L1L2(l1=l1, l2=l2) if (l1 or l2) else None
    layers: list[keras.layers.Layer] = [POOLINGS[pooling](name=f"{HEAD_PREFIX}_pool")]
    for i, units in enumerate(hidden_units):
        if dropout:
            layers.append(keras.layers.Dropout(dropout, name=f"{HEAD_PREFIX}_dropout_{i}"))
        layers.append(
            keras.layers.Dense(
                units,
                activation="relu",
                kernel_regularizer=regularizer,
                name=f"{HEAD_PREFIX}_hidden_{i}",
            )
        )
    if dropout:
        layers.append(keras.layers.Dropout(dropout, name=f"{HEAD_PREFIX}_dropout"))
    activation, units = TASKS[task]
    layers.append(
        keras.layers.Dense(
            units(num_classes),
            activation=activation,
            kernel_regularizer=regularizer,
            # Mixed precision must not reach the probabilities.
            dtype="float32",
            name=f"{HEAD_PREFIX}_output",
        )
    )
    return layers
