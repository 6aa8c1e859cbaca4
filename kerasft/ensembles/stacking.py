"""`kerasft.stack`: a logistic-regression meta-learner over the members' out-of-fold predictions.

The meta-learner is one L2-regularized `Dense` layer (softmax for multiclass, sigmoid for binary
and multilabel) trained on the concatenated out-of-fold probabilities of the members, e.g. those
`kerasft.cross_validate` returns. The result is still one plain functional Keras model: shared
input -> members -> Concatenate -> Dense.

Example:

>>> import numpy as np, keras, kerasft as kft
>>> rng = np.random.default_rng(0)
>>> x, y = rng.normal(size=(200, 4)).astype("float32"), rng.integers(0, 3, 200)
>>> models = [keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
...           for _ in range(2)]
>>> oof = [m.predict(x, verbose=0) for m in models]
>>> stacked = kft.stack(models, oof, y, epochs=5)
>>> stacked.predict(x[:3], verbose=0).shape
(3, 3)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kerasft.ensembles.ensemble import _check_members, members
from kerasft.errors import KerasftError


def _oof_matrix(oof_predictions, n_models: int) -> np.ndarray:
    """Out-of-fold predictions as `(N, M * C)`, members side by side in `models` order."""
    if isinstance(oof_predictions, np.ndarray) and oof_predictions.ndim == 3:
        if oof_predictions.shape[0] == n_models:
            parts = list(oof_predictions)
        elif oof_predictions.shape[1] == n_models:
            parts = list(np.swapaxes(oof_predictions, 0, 1))
        else:
            raise KerasftError(
                f"3D out-of-fold predictions must be (M, N, C) or (N, M, C) with M={n_models} "
                f"models; got shape {oof_predictions.shape}."
            )
    elif isinstance(oof_predictions, (list, tuple)):
        parts = [np.asarray(p) for p in oof_predictions]
    else:
        raise KerasftError(
            "oof_predictions must be a list with one (N, C) array per model (or an (M, N, C) "
            f"array); got {type(oof_predictions).__name__}."
        )
    if len(parts) != n_models:
        raise KerasftError(
            f"Got out-of-fold predictions for {len(parts)} models but {n_models} models; give "
            "one array per model, in the same order."
        )
    shapes = {p.shape for p in parts}
    if len(shapes) != 1 or parts[0].ndim != 2:
        raise KerasftError(
            f"Every model's out-of-fold predictions must be (N, C) of one shape; got {sorted(shapes)}."
        )
    return np.concatenate(parts, axis=1).astype("float32")


def stack(
    models: Sequence,
    oof_predictions,
    y: np.ndarray,
    l2: float = 1e-4,
    epochs: int = 200,
    learning_rate: float = 0.05,
    batch_size: int = 512,
    seed: int = 0,
    name: str = "stack",
):
    """Train a logistic-regression meta-learner on out-of-fold predictions; return one Keras model.

    Args:
        models: the members (trained on all data), in the order of `oof_predictions`.
        oof_predictions: per member, its out-of-fold probabilities `(N, C)` on the training set.
        y: training labels, integers or one-hot (multi-hot for multilabel members).
        l2: L2 penalty of the meta-learner's kernel.
        epochs: upper bound on meta-learner epochs (training stops once the loss settles).
        learning_rate: Adam learning rate of the meta-learner.
        seed: seed of the meta-learner's initialization and batch order.
        batch_size: meta-learner batch size.
        name: the name of the returned model.

    Returns:
        A functional `keras.Model`: shared input -> members -> Concatenate -> Dense meta-learner.
    """
    import keras
    from keras import layers

    from kerasft.evaluation import metrics as M
    from kerasft.training.tasks import infer_task

    models = list(models)
    shape, dtype = _check_members(models)
    features = _oof_matrix(oof_predictions, len(models))
    units = int(models[0].outputs[0].shape[-1])
    if features.shape[1] != units * len(models):
        raise KerasftError(
            f"Out-of-fold predictions have {features.shape[1] // len(models)} columns per model "
            f"but the models output {units}; pass the members' probabilities."
        )
    task = infer_task(models[0])
    if task == "regression":
        raise KerasftError(
            "stack fits a logistic-regression meta-learner over class probabilities, but the "
            "first member reads as a regression model (a linear output and no classification "
            "loss); pass classifier members."
        )
    labels = M.labels_to_indices(y, task, units)
    if len(labels) != len(features):
        raise KerasftError(
            f"y has {len(labels)} labels but the out-of-fold predictions have {len(features)} "
            "rows; both must cover the same training samples."
        )
    if l2 < 0:
        raise KerasftError(f"l2 must be >= 0; got {l2}.")

    keras.utils.set_random_seed(seed)
    activation = "softmax" if task == "multiclass" else "sigmoid"
    meta = layers.Dense(
        units,
        activation=activation,
        kernel_regularizer=keras.regularizers.L2(l2) if l2 else None,
        name=f"{name}_meta_learner",
    )
    meta_in = keras.Input((features.shape[1],))
    trainer = keras.Model(meta_in, meta(meta_in))
    # Start from the plain average of the members so training only has to improve on it.
    kernel = np.tile(np.eye(units, dtype="float32"), (len(models), 1)) * (4.0 / len(models))
    # A sigmoid is centred at mean probability 0.5, i.e. at logit 4 * 0.5 = 2.
    bias = np.full(units, 0.0 if task == "multiclass" else -2.0, "float32")
    meta.set_weights([kernel, bias])
    loss = "sparse_categorical_crossentropy" if task == "multiclass" else "binary_crossentropy"
    targets = labels.astype("float32")[:, None] if task == "binary" else labels
    trainer.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss)
    trainer.fit(
        features,
        targets,
        epochs=epochs,
        batch_size=min(batch_size, len(features)),
        verbose=0,
        callbacks=[keras.callbacks.EarlyStopping(monitor="loss", patience=5, min_delta=1e-4)],
    )

    inputs = keras.Input(shape=shape, dtype=dtype, name=f"{name}_input")
    outputs = members(models, inputs)
    joined = outputs[0] if len(outputs) == 1 else layers.Concatenate(name=f"{name}_concat")(outputs)
    return keras.Model(inputs, meta(joined), name=name)
