"""`kerasft.cross_validate`: stratified k-fold fine-tuning with per-fold runs and out-of-fold predictions."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from kerasft.errors import KerasftError


def stratified_folds(y: np.ndarray, k: int = 5, seed: int = 0) -> list[np.ndarray]:
    """Validation indices of `k` folds, each class spread evenly over them (sizes differ by <= 1).

    Integer or one-hot labels are stratified; multi-hot (multilabel) rows are split at random.
    """
    y = np.asarray(y)
    n = len(y)
    if not isinstance(k, (int, np.integer)) or k < 2:
        raise KerasftError(f"k must be an integer >= 2; got {k!r}.")
    if k > n:
        raise KerasftError(f"k={k} folds need at least {k} samples; got {n}.")
    rng = np.random.default_rng(seed)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim == 2 and np.allclose(y.sum(axis=1), 1.0):
        y = np.argmax(y, axis=1)
    if y.ndim == 1:
        # Classes one after another, each shuffled; dealing them round-robin stratifies the folds.
        order = np.concatenate([rng.permutation(np.flatnonzero(y == c)) for c in np.unique(y)])
    else:
        order = rng.permutation(n)
    fold_of = np.empty(n, np.int64)
    fold_of[order] = np.arange(n) % k
    return [np.flatnonzero(fold_of == f) for f in range(k)]


class CrossValidationResult:
    """Per-fold metrics, their mean and standard deviation, and the out-of-fold predictions.

    Attributes:
        fold_metrics: one dict of headline metrics per fold (see `Report.scalars`).
        mean, std: those metrics averaged over folds (std is the population std, ddof=0).
        oof_predictions: `(N, C)` probabilities, each sample predicted by the fold model that did
            not train on it (input for `kerasft.stack`).
        folds: the validation indices of each fold.
        fold_dirs: each fold's run directory (None when no `run_dir` was given).
        histories: what the fit function returned per fold (Keras `History` dicts when available).
    """

    def __init__(self, fold_metrics, oof_predictions, folds, fold_dirs, histories, run_dir=None):
        self.fold_metrics = list(fold_metrics)
        self.oof_predictions = oof_predictions
        self.folds = list(folds)
        self.fold_dirs = list(fold_dirs)
        self.histories = list(histories)
        self.run_dir = None if run_dir is None else Path(run_dir)
        keys = [k for k in self.fold_metrics[0] if all(k in m for m in self.fold_metrics)]
        values = {k: np.array([m[k] for m in self.fold_metrics], np.float64) for k in keys}
        self.mean = {k: float(v.mean()) for k, v in values.items()}
        self.std = {k: float(v.std()) for k, v in values.items()}

    def to_dict(self) -> dict:
        return {
            "k": len(self.folds),
            "mean": self.mean,
            "std": self.std,
            "folds": [
                {"fold": i, "size": int(len(idx)), "run_dir": None if d is None else str(d), **m}
                for i, (idx, m, d) in enumerate(
                    zip(self.folds, self.fold_metrics, self.fold_dirs, strict=True)
                )
            ],
        }

    def summary(self) -> str:
        """One line per headline metric: `name: mean +- std`."""
        return "\n".join(f"{k}: {self.mean[k]:.4f} +- {self.std[k]:.4f}" for k in self.mean)

    def __repr__(self) -> str:
        acc = self.mean.get("accuracy")
        shown = f", accuracy={acc:.4f} +- {self.std['accuracy']:.4f}" if acc is not None else ""
        return f"CrossValidationResult(k={len(self.folds)}{shown})"


def _history_dict(history) -> dict | None:
    data = getattr(history, "history", None)
    if isinstance(data, dict):
        return {k: [float(v) for v in vals] for k, vals in data.items()}
    return None


def _accepts(fn: Callable, name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _dataset(x, y, batch_size: int, shuffle_seed: int | None):
    import tensorflow as tf

    from kerasft.data.pipeline import untuned

    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle_seed is not None:
        ds = ds.shuffle(len(x), seed=shuffle_seed, reshuffle_each_iteration=True)
    return untuned(ds.batch(batch_size).prefetch(tf.data.AUTOTUNE))


def cross_validate(
    build_fn: Callable,
    x: np.ndarray,
    y: np.ndarray,
    k: int = 5,
    seed: int = 0,
    run_dir: str | Path | None = None,
    fit_fn: Callable | None = None,
    batch_size: int = 32,
    class_names=None,
    **fit_kwargs,
) -> CrossValidationResult:
    """Stratified k-fold fine-tuning: a fresh model per fold, trained on k-1 folds, scored on one.

    Args:
        build_fn: called with no arguments, returns a new (uncompiled or compiled) Keras model.
        x, y: all the training images and labels (integers or one-hot; multi-hot for multilabel).
        k: number of folds.
        seed: seed of the fold split; fold `f` trains with Keras seed `seed + f`.
        run_dir: when given, fold `f` writes `run_dir/fold_f/model.keras` and `metrics.json` (and
            whatever the fit function writes there); `run_dir` gets `cv_results.json` and
            `oof_predictions.npy`.
        fit_fn: `fit_fn(model, train, val, **fit_kwargs)` trains a model on `tf.data` batches;
            default `kerasft.fine_tune`. A fit function that takes `run_dir` / `seed` gets the
            fold's directory and `seed + fold` unless `fit_kwargs` sets them.
        batch_size: batch size of the `tf.data` pipelines given to `fit_fn`.
        class_names: names for the fold reports.
        **fit_kwargs: passed to `fit_fn` (e.g. `epochs=(2, 1)`, `lr=1e-3`).

    Example:

    >>> import numpy as np, keras, kerasft as kft
    >>> def build():
    ...     m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    ...     m.compile("adam", "sparse_categorical_crossentropy")
    ...     return m
    >>> def fit(model, train, val):
    ...     return model.fit(train, validation_data=val, epochs=1, verbose=0)
    >>> x, y = np.random.rand(40, 4).astype("float32"), np.arange(40) % 2
    >>> cv = kft.cross_validate(build, x, y, k=4, fit_fn=fit)
    >>> cv.oof_predictions.shape, len(cv.fold_metrics)
    ((40, 2), 4)
    """
    import keras

    from kerasft.evaluation.evaluate import evaluate

    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise KerasftError(f"x has {len(x)} samples but y has {len(y)}; they must match.")
    if not callable(build_fn):
        raise KerasftError("build_fn must be a function that returns a new Keras model.")
    if fit_fn is None:
        try:
            from kerasft.training.fine_tune import fine_tune as fit_fn
        except ImportError as err:
            raise KerasftError(
                "kerasft.fine_tune is not available; pass fit_fn=(model, train, val) -> History."
            ) from err
    folds = stratified_folds(y, k, seed)
    root = None if run_dir is None else Path(run_dir)
    if root is not None:
        root.mkdir(parents=True, exist_ok=True)

    oof = None
    fold_metrics, fold_dirs, histories = [], [], []
    for f, val_idx in enumerate(folds):
        train_idx = np.setdiff1d(np.arange(len(x)), val_idx, assume_unique=True)
        keras.utils.set_random_seed(seed + f)
        model = build_fn()
        if not isinstance(model, keras.Model):
            raise KerasftError(f"build_fn returned {type(model).__name__}, not a keras.Model.")
        train = _dataset(x[train_idx], y[train_idx], batch_size, shuffle_seed=seed + f)
        val = _dataset(x[val_idx], y[val_idx], batch_size, shuffle_seed=None)
        fold_dir = None if root is None else root / f"fold_{f}"
        kwargs = dict(fit_kwargs)
        if fold_dir is not None:
            fold_dir.mkdir(parents=True, exist_ok=True)
            if _accepts(fit_fn, "run_dir"):
                kwargs.setdefault("run_dir", str(fold_dir))
        if _accepts(fit_fn, "seed"):
            kwargs.setdefault("seed", seed + f)
        history = fit_fn(model, train, val, **kwargs)
        histories.append(_history_dict(history))

        report = evaluate(
            model, (x[val_idx], y[val_idx]), class_names=class_names, num_top_losses=0
        )
        if oof is None:
            oof = np.zeros((len(x), report.y_prob.shape[1]), np.float32)
        oof[val_idx] = report.y_prob
        scalars = report.scalars()
        fold_metrics.append(scalars)
        fold_dirs.append(fold_dir)
        if fold_dir is not None:
            model.save(fold_dir / "model.keras")
            metrics = {"fold": f, "train_size": int(len(train_idx)), "val_size": int(len(val_idx))}
            metrics.update(scalars)
            metrics["report"] = report.to_dict()
            (fold_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
        del model

    result = CrossValidationResult(fold_metrics, oof, folds, fold_dirs, histories, root)
    if root is not None:
        (root / "cv_results.json").write_text(json.dumps(result.to_dict(), indent=2))
        np.save(root / "oof_predictions.npy", oof)
    return result
