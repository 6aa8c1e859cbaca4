"""`kerasft.ensemble`: several trained models combined into one functional Keras model.

The ensemble is built from Keras's own layers only (Average, Add, Rescaling, ReLU, Reshape,
GlobalMaxPooling1D, Subtract), so it saves as a `.keras` file and reloads with plain
`keras.models.load_model(path)` in safe mode, without kerasft installed.

Example:

>>> import numpy as np, keras, kerasft as kft
>>> def member(seed):
...     keras.utils.set_random_seed(seed)
...     return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
>>> models = [member(s) for s in range(3)]
>>> combined = kft.ensemble(models, method="mean")
>>> x = np.random.rand(5, 4).astype("float32")
>>> manual = np.mean([m.predict(x, verbose=0) for m in models], axis=0)
>>> bool(np.allclose(combined.predict(x, verbose=0), manual, atol=1e-6))
True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kerasft.errors import KerasftError

METHODS = ("mean", "weighted", "vote")
# Scales a probability gap into a step: gaps above 1e-6 count as a full "not the winner".
_STEP_SCALE = 1e6
# Ties in a vote are broken by the members' mean probability, scaled down to stay a tie-breaker.
_TIE_BREAK = 1e-3


def _check_members(models: Sequence) -> tuple[tuple, object]:
    import keras

    if not models:
        raise KerasftError("ensemble needs at least one model; got an empty list.")
    seen_weights: set[int] = set()
    for i, model in enumerate(models):
        if not isinstance(model, keras.Model):
            raise KerasftError(f"models[{i}] is a {type(model).__name__}, not a keras.Model.")
        if not getattr(model, "inputs", None) or len(model.inputs) != 1 or len(model.outputs) != 1:
            raise KerasftError(
                f"models[{i}] ({model.name!r}) must be a built functional or Sequential model "
                "with one input and one output."
            )
        ids = {id(v) for v in model.weights}
        if ids & seen_weights:
            raise KerasftError(
                f"models[{i}] ({model.name!r}) shares weights with an earlier member (the same "
                "model passed twice?); give distinct models, e.g. reload or clone one."
            )
        seen_weights |= ids
    out_shapes = {tuple(m.outputs[0].shape[1:]) for m in models}
    if len(out_shapes) != 1:
        raise KerasftError(
            f"All members must have the same output shape; got {sorted(out_shapes, key=str)}."
        )
    shape = list(models[0].inputs[0].shape[1:])
    for i, model in enumerate(models[1:], start=1):
        other = list(model.inputs[0].shape[1:])
        if len(other) != len(shape):
            raise KerasftError(
                f"models[{i}] takes inputs of shape {tuple(other)} but models[0] takes "
                f"{tuple(shape)}; members must share one raw input."
            )
        for d, (a, b) in enumerate(zip(shape, other, strict=True)):
            if a is not None and b is not None and a != b:
                raise KerasftError(
                    f"models[{i}] takes inputs of shape {tuple(other)} but models[0] takes "
                    f"{tuple(shape)}; members must share one raw input."
                )
            # The shared input takes the most specific size any member fixes.
            shape[d] = a if a is not None else b
    return tuple(shape), models[0].inputs[0].dtype


def _normalized_weights(weights, n: int) -> list[float]:
    w = np.asarray(weights, np.float64).ravel()
    if w.size != n:
        raise KerasftError(f"Got {w.size} weights for {n} models; give one weight per model.")
    if np.any(w < 0) or not np.isfinite(w).all() or w.sum() <= 0:
        raise KerasftError(
            f"Ensemble weights must be finite, non-negative and not all zero; got {w.tolist()}."
        )
    return (w / w.sum()).tolist()


def members(models: Sequence, inputs) -> list:
    """Call each model on the shared `inputs` inside a uniquely named wrapper; returns the outputs."""
    import keras

    outputs = []
    for i, model in enumerate(models):
        # Members often share a name (e.g. several kft.build models); wrappers make names unique.
        wrapper = keras.Model(model.inputs[0], model.outputs[0], name=f"{model.name}_{i}")
        outputs.append(wrapper(inputs))
    return outputs


def _combine(outputs: list, weights: list[float] | None, name: str):
    from keras import layers

    if len(outputs) == 1:
        return outputs[0]
    if weights is None:
        return layers.Average(name=name)(outputs)
    scaled = [
        layers.Rescaling(w, name=f"{name}_weight_{i}")(out)
        for i, (out, w) in enumerate(zip(outputs, weights, strict=True))
    ]
    return layers.Add(name=name)(scaled)


def _vote(output, task: str, index: int):
    """A member's hard decision as a 0/1 tensor built from built-in layers only."""
    from keras import layers

    if task == "multiclass":
        n = output.shape[-1]
        best = layers.GlobalMaxPooling1D(name=f"vote_max_{index}")(
            layers.Reshape((n, 1), name=f"vote_reshape_{index}")(output)
        )
        gap = layers.Subtract(name=f"vote_gap_{index}")([best, output])
        step = layers.Rescaling(_STEP_SCALE, name=f"vote_scale_{index}")(gap)
    else:
        step = layers.Rescaling(-_STEP_SCALE, offset=0.5 * _STEP_SCALE, name=f"vote_scale_{index}")(
            output
        )
    # clip(step, 0, 1) is 0 for the winner (or a probability above 0.5), 1 elsewhere.
    loser = layers.ReLU(max_value=1.0, name=f"vote_clip_{index}")(step)
    return layers.Rescaling(-1.0, offset=1.0, name=f"vote_{index}")(loser)


def ensemble(
    models: Sequence,
    method: str = "mean",
    weights: Sequence[float] | None = None,
    name: str = "ensemble",
):
    """Combine trained models into one Keras model that takes their shared raw input.

    Args:
        models: Keras models with one input of the same shape and one output of the same shape
            (e.g. `kerasft.build` models, whose preprocessing is inside the model).
        method: "mean" averages the probabilities; "weighted" takes the weighted mean with
            `weights`; "vote" averages the members' hard decisions (argmax one-hot for softmax
            outputs, probability >= 0.5 for sigmoid outputs), weighted when `weights` is given;
            vote ties go to the class with the higher mean probability.
        weights: one non-negative weight per model (normalized to sum to 1).
        name: the ensemble model's name.

    Returns:
        A functional `keras.Model`; its members are nested, uniquely named sub-models that share
        their layers (and weights) with the models passed in.
    """
    import keras

    if method not in METHODS:
        raise KerasftError(f"Unknown ensemble method {method!r}; use one of {', '.join(METHODS)}.")
    if method == "weighted" and weights is None:
        raise KerasftError('method="weighted" needs weights=[...], one per model.')
    if method == "mean" and weights is not None:
        raise KerasftError('weights are given but method="mean"; use method="weighted".')
    models = list(models)
    shape, dtype = _check_members(models)
    w = _normalized_weights(weights, len(models)) if weights is not None else None

    inputs = keras.Input(shape=shape, dtype=dtype, name=f"{name}_input")
    outputs = members(models, inputs)
    if method != "vote":
        combined = _combine(outputs, w, f"{name}_{method}")
        return keras.Model(inputs, combined, name=name)

    from keras import layers

    from kerasft.training.tasks import infer_task

    task = infer_task(models[0])
    if task == "regression":
        raise KerasftError(
            "method='vote' needs classifier members (a softmax or sigmoid output, or a "
            "classification loss), but the first member reads as a regression model; use "
            "method='mean' or 'weighted'."
        )
    votes = [_vote(out, task, i) for i, out in enumerate(outputs)]
    tally = _combine(votes, w, f"{name}_votes")
    mean = _combine(outputs, None, f"{name}_mean_probability")
    tie_break = layers.Rescaling(_TIE_BREAK, name=f"{name}_tie_break")(mean)
    total = layers.Add(name=f"{name}_votes_and_tie_break")([tally, tie_break])
    # Rescale so vote shares (plus tie-break) still sum to 1 for softmax members.
    out = layers.Rescaling(1.0 / (1.0 + _TIE_BREAK), name=f"{name}_vote")(total)
    return keras.Model(inputs, out, name=name)
