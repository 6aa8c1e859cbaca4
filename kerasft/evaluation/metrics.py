"""Classification metrics computed with NumPy alone, so the library never needs scikit-learn.

Every function takes plain arrays. `classification_metrics` ties them together into the dictionary
that `kerasft.evaluate` puts in its report:

>>> import numpy as np
>>> from kerasft.evaluation import metrics
>>> y = np.array([0, 1, 2, 2])
>>> probs = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.5, 0.4], [0.1, 0.1, 0.8]])
>>> m = metrics.classification_metrics(y, probs, task="multiclass", top_k=2)
>>> m["accuracy"], m["top_k_accuracy"]
(0.75, 1.0)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kerasft.errors import KerasftError

TASKS = ("multiclass", "binary", "multilabel")
_EPS = 1e-7


def labels_to_indices(y: np.ndarray, task: str, num_outputs: int) -> np.ndarray:
    """Bring labels to one layout: class indices `(N,)` for multiclass/binary, 0/1 `(N, C)` for multilabel.

    Accepts integer labels (`(N,)` or `(N, 1)`) and one-hot or multi-hot rows (`(N, C)`).
    """
    y = np.asarray(y)
    if task == "multilabel":
        if y.ndim != 2 or y.shape[1] != num_outputs:
            raise KerasftError(
                f"Multilabel labels must be multi-hot rows of shape (N, {num_outputs}); got shape "
                f"{y.shape}. Give one 0/1 column per class."
            )
        return (y >= 0.5).astype(np.int64)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim == 2:
        expected = 2 if task == "binary" else num_outputs
        if y.shape[1] != expected:
            raise KerasftError(
                f"One-hot labels have {y.shape[1]} columns but the model has {num_outputs} "
                f"output(s) ({task}); give integer labels or one-hot rows with {expected} columns."
            )
        return np.argmax(y, axis=1).astype(np.int64)
    if y.ndim != 1:
        raise KerasftError(f"Labels must be integers (N,) or one-hot (N, C); got shape {y.shape}.")
    if y.size and not np.all(np.equal(np.mod(y, 1), 0)):
        raise KerasftError(
            "Integer class labels were expected, got fractional values; for soft labels, "
            "pass one-hot rows instead."
        )
    y = y.astype(np.int64)
    n_classes = 2 if task == "binary" else num_outputs
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise KerasftError(
            f"Labels must lie in [0, {n_classes - 1}] for a {task} model with {num_outputs} "
            f"output(s); got values from {y.min()} to {y.max()}."
        )
    return y


def confusion_matrix(y_true, y_pred, num_classes: int) -> np.ndarray:
    """Counts `cm[true, predicted]` of integer labels, as a `(num_classes, num_classes)` array.

    Labels outside `[0, num_classes)` are not counted (`kft.evaluate` rejects them earlier).

    Args:
        y_true: the true class of each sample.
        y_pred: the predicted class of each sample.
        num_classes: how many classes.

    Example:

    >>> from kerasft.evaluation.metrics import confusion_matrix
    >>> confusion_matrix([0, 1, 1, 2], [0, 1, 2, 2], num_classes=3).tolist()
    [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    """
    y_true = np.asarray(y_true, dtype=np.int64).reshape(-1)
    y_pred = np.asarray(y_pred, dtype=np.int64).reshape(-1)
    # Drop out-of-range labels rather than letting bincount grow the matrix silently.
    keep = (y_true >= 0) & (y_true < num_classes) & (y_pred >= 0) & (y_pred < num_classes)
    flat = y_true[keep] * num_classes + y_pred[keep]
    return np.bincount(flat, minlength=num_classes**2).reshape(num_classes, num_classes)


def multilabel_confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Per-label 2x2 matrices `(C, 2, 2)` laid out `[[tn, fp], [fn, tp]]`, as scikit-learn does."""
    y_true, y_pred = np.asarray(y_true, bool), np.asarray(y_pred, bool)
    tp = np.sum(y_true & y_pred, axis=0)
    fp = np.sum(~y_true & y_pred, axis=0)
    fn = np.sum(y_true & ~y_pred, axis=0)
    tn = np.sum(~y_true & ~y_pred, axis=0)
    return np.stack([np.stack([tn, fp], -1), np.stack([fn, tp], -1)], 1).astype(np.int64)


def _safe_divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    # Zero denominators give 0, matching scikit-learn's zero_division default.
    num, den = np.asarray(num, np.float64), np.asarray(den, np.float64)
    return np.divide(num, den, out=np.zeros_like(num), where=den != 0)


def precision_recall_f1(
    tp: np.ndarray, fp: np.ndarray, fn: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class precision, recall and F1 from true-positive, false-positive, false-negative counts."""
    precision = _safe_divide(tp, tp + fp)
    recall = _safe_divide(tp, tp + fn)
    f1 = _safe_divide(2 * tp, 2 * tp + fp + fn)
    return precision, recall, f1


def averaged_scores(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> dict[str, dict[str, float]]:
    """Macro, micro and support-weighted averages of precision, recall and F1."""
    precision, recall, f1 = precision_recall_f1(tp, fp, fn)
    support = tp + fn
    weights = support / support.sum() if support.sum() else np.zeros_like(support, np.float64)
    micro = precision_recall_f1(tp.sum(), fp.sum(), fn.sum())
    return {
        "macro": {
            "precision": float(precision.mean()),
            "recall": float(recall.mean()),
            "f1": float(f1.mean()),
        },
        "micro": {"precision": float(micro[0]), "recall": float(micro[1]), "f1": float(micro[2])},
        "weighted": {
            "precision": float(np.sum(weights * precision)),
            "recall": float(np.sum(weights * recall)),
            "f1": float(np.sum(weights * f1)),
        },
    }


def top_k_accuracy(y_true: np.ndarray, probs: np.ndarray, k: int = 5) -> float:
    """Fraction of samples whose true class is among the `k` highest scores."""
    probs = np.asarray(probs)
    k = min(int(k), probs.shape[1])
    top = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    return float(np.mean(np.any(top == np.asarray(y_true)[:, None], axis=1)))


def roc_auc(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve of one binary problem; NaN when only one class is present.

    Computed as the Mann-Whitney statistic with tied scores sharing their mean rank, which equals
    the trapezoidal area scikit-learn reports.
    """
    y_true = np.asarray(y_true).astype(bool).ravel()
    scores = np.asarray(scores, np.float64).ravel()
    n_pos = int(y_true.sum())
    n_neg = y_true.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    ranks = np.empty(scores.size, np.float64)
    # Tied scores all get the mean of the ranks they span.
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    mean_ranks = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(mean_ranks, counts)
    return float((ranks[y_true].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def expected_calibration_error(
    confidences: np.ndarray, correct: np.ndarray, n_bins: int = 15
) -> float:
    """Expected calibration error: sum over equal-width bins of |accuracy - confidence| * bin share.

    A confidence `c` falls in bin `(lo, hi]`; a confidence of exactly 0 joins the first bin.
    """
    confidences = np.asarray(confidences, np.float64).ravel()
    correct = np.asarray(correct, np.float64).ravel()
    if confidences.size == 0:
        return float("nan")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.clip(np.searchsorted(edges, confidences, side="left") - 1, 0, n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        in_bin = bins == b
        if in_bin.any():
            ece += in_bin.mean() * abs(correct[in_bin].mean() - confidences[in_bin].mean())
    return float(ece)


def most_confused_pairs(
    cm: np.ndarray, class_names: Sequence[str], n: int = 10
) -> list[dict[str, object]]:
    """The `n` largest off-diagonal cells of a confusion matrix, largest first."""
    off = np.array(cm, np.int64)
    np.fill_diagonal(off, 0)
    flat = np.argsort(-off, axis=None, kind="stable")[:n]
    pairs = []
    for i, j in zip(*np.unravel_index(flat, off.shape), strict=True):
        if off[i, j] == 0:
            break
        pairs.append({"true": class_names[i], "predicted": class_names[j], "count": int(off[i, j])})
    return pairs


def per_sample_loss(y_true: np.ndarray, probs: np.ndarray, task: str) -> np.ndarray:
    """Cross-entropy of each sample (binary cross-entropy averaged over labels for multilabel)."""
    probs = np.clip(np.asarray(probs, np.float64), _EPS, 1 - _EPS)
    if task == "multiclass":
        return -np.log(probs[np.arange(len(y_true)), y_true])
    if task == "binary":
        p = probs[:, 0]
        return -(y_true * np.log(p) + (1 - y_true) * np.log(1 - p))
    return -np.mean(y_true * np.log(probs) + (1 - y_true) * np.log(1 - probs), axis=1)


def predictions(probs: np.ndarray, task: str, threshold: float = 0.5) -> np.ndarray:
    """Hard predictions: class indices for multiclass/binary, 0/1 rows for multilabel."""
    probs = np.asarray(probs)
    if task == "multiclass":
        return np.argmax(probs, axis=1)
    if task == "binary":
        return (probs[:, 0] >= threshold).astype(np.int64)
    return (probs >= threshold).astype(np.int64)


def _nan_to_none(value: float) -> float | None:
    return None if value is None or np.isnan(value) else float(value)


def classification_metrics(
    y_true: np.ndarray,
    probs: np.ndarray,
    task: str,
    class_names: Sequence[str] | None = None,
    top_k: int = 5,
    threshold: float = 0.5,
    n_bins: int = 15,
) -> dict[str, object]:
    """All report metrics for labels `y_true` (as `labels_to_indices` returns) and model `probs`.

    Multiclass and binary reports carry accuracy, top-k accuracy (multiclass), per-class
    precision/recall/F1, their macro/micro/weighted averages, the confusion matrix, ROC-AUC
    (one-vs-rest per class for multiclass), the expected calibration error of the top
    prediction and the most confused class pairs. Multilabel reports use per-label decisions at
    `threshold`: subset accuracy, Hamming accuracy, per-label 2x2 confusion matrices and ROC-AUC.
    """
    if task not in TASKS:
        raise KerasftError(f"Unknown task {task!r}; use one of {', '.join(TASKS)}.")
    probs = np.asarray(probs, np.float64)
    y_true = np.asarray(y_true)
    n_classes = 2 if task == "binary" else probs.shape[1]
    names = list(class_names) if class_names is not None else [str(i) for i in range(n_classes)]
    if len(names) != n_classes:
        raise KerasftError(
            f"Got {len(names)} class names for a {task} model with {n_classes} classes; "
            f"pass exactly {n_classes} names."
        )
    y_pred = predictions(probs, task, threshold)
    out: dict[str, object] = {"task": task, "num_samples": int(len(y_true))}
    out["loss"] = float(np.mean(per_sample_loss(y_true, probs, task)))

    if task == "multilabel":
        mcm = multilabel_confusion_matrix(y_true, y_pred)
        tp, fp, fn = mcm[:, 1, 1], mcm[:, 0, 1], mcm[:, 1, 0]
        out["accuracy"] = float(np.mean(np.all(y_true == y_pred, axis=1)))
        out["hamming_accuracy"] = float(np.mean(y_true == y_pred))
        out["top_k"], out["top_k_accuracy"] = None, None
        aucs = [roc_auc(y_true[:, c], probs[:, c]) for c in range(n_classes)]
        confidences = np.maximum(probs, 1 - probs)
        correct = y_true == y_pred
        out["confusion_matrix"] = mcm.tolist()
        out["most_confused"] = [
            {"label": names[c], "false_positives": int(fp[c]), "false_negatives": int(fn[c])}
            for c in np.argsort(-(fp + fn), kind="stable")
            if fp[c] + fn[c] > 0
        ][:10]
        micro_auc = roc_auc(y_true.ravel(), probs.ravel())
    else:
        cm = confusion_matrix(y_true, y_pred, n_classes)
        tp = np.diag(cm)
        fp, fn = cm.sum(axis=0) - tp, cm.sum(axis=1) - tp
        out["accuracy"] = float(np.mean(y_true == y_pred))
        if task == "binary":
            p1 = probs[:, 0]
            out["top_k"], out["top_k_accuracy"] = None, None
            auc = roc_auc(y_true, p1)
            aucs = [auc, auc]
            confidences = np.maximum(p1, 1 - p1)
        else:
            out["top_k"] = int(min(top_k, n_classes))
            out["top_k_accuracy"] = top_k_accuracy(y_true, probs, top_k)
            aucs = [roc_auc(y_true == c, probs[:, c]) for c in range(n_classes)]
            confidences = probs.max(axis=1)
        correct = y_true == y_pred
        out["confusion_matrix"] = cm.tolist()
        out["most_confused"] = most_confused_pairs(cm, names)
        micro_auc = None

    precision, recall, f1 = precision_recall_f1(tp, fp, fn)
    support = tp + fn
    out["per_class"] = {
        name: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
            "roc_auc": _nan_to_none(aucs[i]),
        }
        for i, name in enumerate(names)
    }
    out.update(averaged_scores(tp, fp, fn))
    defined = [a for a in aucs if not np.isnan(a)]
    if task == "binary":
        out["roc_auc"] = _nan_to_none(aucs[1])
    else:
        # Classes absent from y_true have no ROC curve; the macro mean skips them.
        out["roc_auc"] = float(np.mean(defined)) if defined else None
    if task == "multilabel":
        out["roc_auc_micro"] = _nan_to_none(micro_auc)
    out["ece"] = expected_calibration_error(confidences, correct, n_bins)
    out["ece_bins"] = int(n_bins)
    out["class_names"] = names
    return out
