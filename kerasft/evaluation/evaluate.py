"""`kerasft.evaluate`: classification metrics, figures and top losses of a model on labelled data."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kerasft.errors import KerasftError
from kerasft.evaluation import metrics as M
from kerasft.evaluation.predict import iter_batches, predict_batch, resolve_tta
from kerasft.evaluation.report import Report
from kerasft.evaluation.tta import TestTimeAugmentation
from kerasft.training.tasks import infer_task, output_activation


def _classification_task(model) -> tuple[str, str | None]:
    """`(task, output activation)` of a classifier; a regression model is an error here."""
    task = infer_task(model)
    activation = output_activation(model)
    if task == "regression":
        loss = getattr(model, "loss", None)
        said = "it is not compiled" if loss is None else f"its loss is {loss!r}"
        raise KerasftError(
            f"evaluate reports classification metrics, but this model's output is "
            f"{activation or 'linear'} and {said}, which kerasft reads as a regression model. "
            "If its outputs are logits, pass task='multiclass', 'binary' or 'multilabel' (or "
            "compile it with its cross-entropy loss)."
        )
    return task, activation


def _to_probabilities(raw: np.ndarray, task: str, activation: str | None) -> np.ndarray:
    """Turn logits into probabilities when the model's head has no softmax/sigmoid."""
    if activation in ("softmax", "sigmoid"):
        return raw
    if task == "multiclass":
        in_simplex = raw.min() >= 0 and np.allclose(raw.sum(axis=1), 1.0, atol=1e-3)
        if in_simplex:
            return raw
        shifted = np.exp(raw - raw.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)
    if raw.min() >= 0 and raw.max() <= 1:
        return raw
    return 1.0 / (1.0 + np.exp(-raw))


def _label_text(value, task: str, names: Sequence[str]) -> str:
    if task == "multilabel":
        chosen = [names[c] for c in np.flatnonzero(value)]
        return ",".join(chosen) if chosen else "(none)"
    return str(names[int(value)])


def _load_model(model):
    if isinstance(model, (str, Path)):
        import keras

        path = Path(model)
        if path.is_dir():
            path = path / "model.keras"
        if not path.exists():
            raise KerasftError(f"No model at {path}; give a .keras file or a run directory.")
        import kerasft  # noqa: F401  (registers kerasft's serializable objects)

        return keras.models.load_model(path)
    return model


def evaluate(
    model,
    data,
    class_names: Sequence[str] | None = None,
    out_dir: str | Path | None = None,
    top_k: int = 5,
    tta: bool | TestTimeAugmentation = False,
    tensorboard_dir: str | Path | None = None,
    *,
    task: str | None = None,
    batch_size: int = 32,
    num_top_losses: int = 16,
    gradcam: bool = True,
    threshold: float = 0.5,
) -> Report:
    """Evaluate a classifier and return a `Report` (written to `out_dir` when given).

    Args:
        model: a Keras model (or the path of a `.keras` file or run directory).
        data: a `tf.data.Dataset` of `(x, y)` or a tuple `(x, y)` of arrays; labels are integers
            or one-hot / multi-hot rows.
        class_names: names for the report; default "0", "1", ...
        out_dir: where to write report.json, report.md and the PNG figures.
        top_k: k of the top-k accuracy (multiclass).
        tta: average predictions over flipped/shifted copies (True or a `TestTimeAugmentation`).
        tensorboard_dir: also log scalars, the Markdown report and the figures there.
        task: "multiclass", "binary" or "multilabel"; by default `infer_task(model)` (the
            output activation, else the compiled loss; a linear output with no classification
            loss is a regression model, an error here: pass `task` for a logits model).
        num_top_losses: how many of the worst-predicted samples to keep and draw (for a text
            model: to list, with their texts, in report.json and report.md).
        gradcam: draw Grad-CAM heatmaps over the top losses (`top_losses_gradcam.png`); the
            explained layer is recorded as `report["gradcam_layer"]`.
        threshold: decision threshold of sigmoid outputs.
        batch_size: batch size of the predictions, for array data.

    Example:

    >>> import numpy as np, keras, kerasft as kft
    >>> model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
    ...                           keras.layers.Dense(3, activation="softmax")])
    >>> x, y = np.random.rand(20, 8, 8, 1), np.arange(20) % 3
    >>> report = kft.evaluate(model, (x, y), class_names=["a", "b", "c"], top_k=2)
    >>> sorted(report["per_class"])
    ['a', 'b', 'c']
    """
    if task is not None and task not in M.TASKS:
        raise KerasftError(f"Unknown task {task!r}; use one of {', '.join(M.TASKS)}.")
    if not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise KerasftError(f"top_k must be a positive integer; got {top_k!r}.")
    model = _load_model(model)
    tta = resolve_tta(tta)
    if task is None:
        task, activation = _classification_task(model)
    else:
        activation = output_activation(model)
    units = int(model.outputs[0].shape[-1])

    probs_chunks, label_chunks = [], []
    keep_n = max(int(num_top_losses), 0)
    top_loss = np.empty(0)
    top_index = np.empty(0, np.int64)
    top_images: np.ndarray | None = None
    seen = 0
    for xb, yb in iter_batches(model, data, batch_size, labels=True):
        raw = predict_batch(model, xb, tta)
        probs = _to_probabilities(raw.astype(np.float64), task, activation)
        y_idx = M.labels_to_indices(yb, task, units)
        probs_chunks.append(probs)
        label_chunks.append(y_idx)
        if keep_n:
            # Keep only the running worst samples, so no image array of the whole set is held.
            losses = M.per_sample_loss(y_idx, probs, task)
            cand_loss = np.concatenate([top_loss, losses])
            cand_index = np.concatenate([top_index, seen + np.arange(len(xb))])
            cand_images = xb if top_images is None else np.concatenate([top_images, xb])
            order = np.argsort(-cand_loss, kind="stable")[:keep_n]
            top_loss, top_index, top_images = (
                cand_loss[order],
                cand_index[order],
                cand_images[order],
            )
        seen += len(xb)
    if not probs_chunks:
        raise KerasftError("The evaluation data is empty.")
    y_prob = np.concatenate(probs_chunks)
    y_true = np.concatenate(label_chunks)
    if class_names is not None:
        class_names = [str(c) for c in class_names]
    result = M.classification_metrics(
        y_true, y_prob, task, class_names=class_names, top_k=int(top_k), threshold=threshold
    )
    names = result["class_names"]
    if tta is not None:
        result["tta"] = tta.get_config()

    top_losses, heatmaps = [], None
    texts = top_images is not None and np.asarray(top_images).dtype.kind in "OUS"
    # An audio model's clips `(K, samples)` are listed, not drawn (nor explained by Grad-CAM).
    clips = top_images is not None and not texts and np.asarray(top_images).ndim == 2
    if keep_n and top_images is not None:
        pred = M.predictions(y_prob[top_index], task, threshold)
        for k, i in enumerate(top_index):
            p = y_prob[i]
            if task == "multiclass":
                prob = float(p[pred[k]])
            elif task == "binary":
                prob = float(p[0] if pred[k] == 1 else 1 - p[0])
            else:
                prob = float(p.max())
            top_losses.append(
                {
                    "index": int(i),
                    "loss": float(top_loss[k]),
                    "true": _label_text(y_true[i], task, names),
                    "predicted": _label_text(pred[k], task, names),
                    "probability": prob,
                }
            )
            if texts:  # a text model's worst-predicted texts stand in for the image grid
                text = top_images[k]
                top_losses[-1]["text"] = text.decode() if isinstance(text, bytes) else str(text)
        if gradcam and not texts and not clips:
            heatmaps, layer = _gradcam_or_none(
                model, top_images, pred if task != "multilabel" else None
            )
            if layer is not None:
                result["gradcam_layer"] = layer

    report = Report(
        result,
        y_true=y_true,
        y_prob=y_prob,
        top_losses=top_losses,
        top_loss_images=None if clips else top_images,
        top_loss_heatmaps=heatmaps,
    )
    if out_dir is not None:
        report.save(out_dir)
    if tensorboard_dir is not None:
        report.log_to_tensorboard(tensorboard_dir)
    return report


def _gradcam_or_none(model, images: np.ndarray, class_index):
    """`(heatmaps, explained layer's name)`, or `(None, None)` for a model with no feature map."""
    from kerasft.explain.gradcam import GradCAM

    try:
        explainer = GradCAM(model)
    except KerasftError:
        # Models without a convolutional feature map simply get no Grad-CAM figure.
        return None, None
    return explainer(images, class_index=class_index), explainer.layer_name
