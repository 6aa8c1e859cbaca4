"""MLflow tracking for Keras training, one MLflow run across all the `fit` calls of a fine-tune."""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np

from kerasft.errors import KerasftError
from kerasft.training.phase import current_phase

# MLflow rejects longer parameter values.
_MAX_PARAM_LENGTH = 500


def _flatten(prefix: str, value: Any, out: dict[str, str]) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), item, out)
        return
    if isinstance(value, (list, tuple)):
        value = json.dumps(value, default=str)
    text = str(value)
    out[prefix] = text if len(text) <= _MAX_PARAM_LENGTH else text[: _MAX_PARAM_LENGTH - 3] + "..."


def _count(weights) -> int:
    return int(sum(np.prod(w.shape) for w in weights))


class MLflowLogger(keras.callbacks.Callback):
    """Logs a Keras training run to MLflow: parameters, per-epoch metrics and artifacts.

    - Parameters, at the start of each `fit`: the optimizer's config (`optimizer.*`), the model's
      parameter counts (`model.*`), the fit's epochs and steps (`fit.*`) and your own `params`.
      A value that changes in a later `fit` (the fine-tuning phase of `kft.fine_tune`) is logged
      again with a `.phase2` (or `.fit2`) suffix, since MLflow parameters cannot change.
    - Metrics, at each epoch end: everything in the epoch logs (loss, val_loss, metrics...) and
      the optimizer's learning rate at step = epoch, plus `trainable_params` at each fit's first
      epoch.
    - Artifacts, at the end of each `fit`: the model as `model/model.keras`, the config file
      (`config_path`), the confusion matrix (`confusion_matrix`: a PNG path, or a kerasft
      `TensorBoardExtras` whose latest matrix is drawn) and any other `artifacts` paths.

    The run is created on the first `fit` and reused by the next ones; it is marked finished after
    each. When an MLflow run is already active (`with mlflow.start_run():`), that run is used and
    left open.

    Args:
        tracking_uri: MLflow tracking URI (default: MLflow's own, i.e. `$MLFLOW_TRACKING_URI`).
        experiment_name: experiment to log to; created if missing.
        artifact_location: where a newly created experiment stores artifacts (default: MLflow's).
        run_name: name of the new run.
        params: your own parameters (nested dicts become dotted names).
        tags: tags of the new run.
        config_path: a config file to attach (e.g. the YAML of `kerasft fit`).
        log_model: save and attach the model as `.keras` at the end of each fit.
        confusion_matrix: a confusion-matrix PNG path, or a `TensorBoardExtras` instance.
        artifacts: more files to attach.

    Example:

    >>> import numpy as np, keras, tempfile
    >>> from kerasft_mlflow import MLflowLogger
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    >>> model.compile("adam", "mse")
    >>> tmp = tempfile.mkdtemp()
    >>> logger = MLflowLogger(tracking_uri=f"sqlite:///{tmp}/mlflow.db",
    ...                       artifact_location=f"{tmp}/artifacts", params={"data": "toy"})
    >>> _ = model.fit(np.zeros((8, 3)), np.zeros((8, 1)), epochs=2, verbose=0, callbacks=[logger])
    >>> logger.client.get_run(logger.run_id).data.params["data"]
    'toy'
    """

    def __init__(
        self,
        tracking_uri: str | None = None,
        experiment_name: str = "kerasft",
        artifact_location: str | None = None,
        run_name: str | None = None,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        config_path: str | os.PathLike | None = None,
        log_model: bool = True,
        confusion_matrix: Any = None,
        artifacts: Sequence[str | os.PathLike] = (),
    ):
        super().__init__()
        if params is not None and not isinstance(params, Mapping):
            raise KerasftError(f"MLflowLogger: params must be a dict, got {type(params).__name__}.")
        if config_path is not None and not os.path.isfile(config_path):
            raise KerasftError(
                f"MLflowLogger: config_path {os.fspath(config_path)!r} is not a file."
            )
        if not (
            confusion_matrix is None
            or isinstance(confusion_matrix, (str, os.PathLike))
            or hasattr(confusion_matrix, "confusion_matrix")
        ):
            raise KerasftError(
                "MLflowLogger: confusion_matrix must be a PNG path or a TensorBoardExtras callback, "
                f"got {confusion_matrix!r}."
            )
        self.tracking_uri = tracking_uri
        self.experiment_name = experiment_name
        self.artifact_location = artifact_location
        self.run_name = run_name
        # Not `self.params`: Keras sets that to the fit's own params (epochs, steps, verbose).
        self.run_params = dict(params or {})
        self.tags = dict(tags or {})
        self.config_path = os.fspath(config_path) if config_path is not None else None
        self.log_model = log_model
        self.confusion_matrix = confusion_matrix
        self.artifacts = [os.fspath(a) for a in artifacts]
        #: The MLflow run id, set at the start of the first fit.
        self.run_id: str | None = None
        self.client = None
        self._owns_run = False
        self._fits = 0
        self._logged: dict[str, str] = {}
        self._first_epoch = True

    def get_config(self) -> dict[str, Any]:
        return {
            "tracking_uri": self.tracking_uri,
            "experiment_name": self.experiment_name,
            "artifact_location": self.artifact_location,
            "run_name": self.run_name,
            "params": self.run_params,
            "tags": self.tags,
            "config_path": self.config_path,
            "log_model": self.log_model,
            "artifacts": self.artifacts,
        }

    def on_train_begin(self, logs=None):
        import mlflow
        from mlflow import MlflowClient

        if self.client is None:
            self.client = MlflowClient(tracking_uri=self.tracking_uri)
        if self.run_id is None:
            active = mlflow.active_run()
            if active is not None and self.tracking_uri in (None, mlflow.get_tracking_uri()):
                self.run_id, self._owns_run = active.info.run_id, False
            else:
                experiment = self.client.get_experiment_by_name(self.experiment_name)
                experiment_id = (
                    experiment.experiment_id
                    if experiment is not None
                    else self.client.create_experiment(
                        self.experiment_name, artifact_location=self.artifact_location
                    )
                )
                run = self.client.create_run(experiment_id, run_name=self.run_name, tags=self.tags)
                self.run_id, self._owns_run = run.info.run_id, True
        self._fits += 1
        self._first_epoch = True
        self._log_params(self._collect_params())

    def on_epoch_begin(self, epoch, logs=None):
        if self._first_epoch:
            self._first_epoch = False
            trainable = _count(self.model.trainable_weights)
            self.client.log_metric(self.run_id, "trainable_params", trainable, step=epoch)

    def on_epoch_end(self, epoch, logs=None):
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = []
        values = dict(logs or {})
        optimizer = getattr(self.model, "optimizer", None)
        if "learning_rate" not in values and optimizer is not None:
            optimizer = getattr(optimizer, "inner_optimizer", optimizer)  # LossScaleOptimizer
            values["learning_rate"] = keras.ops.convert_to_numpy(optimizer.learning_rate)
        for key, value in values.items():
            try:
                number = float(value)
            except (TypeError, ValueError):
                continue  # MLflow metrics are numbers; anything else is not a metric
            if np.isfinite(number):
                metrics.append(Metric(key, number, now, epoch))
        if metrics:
            self.client.log_batch(self.run_id, metrics=metrics)

    def on_train_end(self, logs=None):
        with tempfile.TemporaryDirectory() as tmp:
            if self.log_model:
                path = os.path.join(tmp, "model.keras")
                self.model.save(path)
                self.client.log_artifact(self.run_id, path, "model")
            if self.config_path is not None and self._fits == 1:
                self.client.log_artifact(self.run_id, self.config_path, "config")
            png = self._confusion_matrix_png(tmp)
            if png is not None:
                self.client.log_artifact(self.run_id, png)
            for path in self.artifacts:
                if os.path.isfile(path):
                    self.client.log_artifact(self.run_id, path)
                elif os.path.isdir(path):
                    self.client.log_artifacts(self.run_id, path, os.path.basename(path))
        if self._owns_run:
            self.client.set_terminated(self.run_id, "FINISHED")

    def _collect_params(self) -> dict[str, str]:
        params: dict[str, str] = {}
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None:
            config = keras.optimizers.serialize(optimizer)
            params["optimizer.class"] = type(optimizer).__name__
            _flatten("optimizer", config.get("config", {}), params)
        model = self.model
        params["model.name"] = model.name
        params["model.total_params"] = str(_count(model.weights))
        params["model.trainable_params"] = str(_count(model.trainable_weights))
        params["model.non_trainable_params"] = str(_count(model.non_trainable_weights))
        for key in ("epochs", "steps"):
            if (self.params or {}).get(key) is not None:
                params[f"fit.{key}"] = str(self.params[key])
        _flatten("", self.run_params, params)
        return params

    def _log_params(self, params: dict[str, str]) -> None:
        from mlflow.entities import Param

        running = current_phase(self.model)
        phase = running.number if running is not None else None
        suffix = f"phase{phase}" if phase is not None else f"fit{self._fits}"
        new = []
        for key, value in params.items():
            if key not in self._logged:
                self._logged[key] = value
                new.append(Param(key, value))
            elif self._logged[key] != value:
                # MLflow parameters are immutable: a changed value gets its own name.
                changed = f"{key}.{suffix}"
                if changed not in self._logged:
                    self._logged[changed] = value
                    new.append(Param(changed, value))
        for start in range(0, len(new), 100):  # MLflow takes at most 100 params per batch
            self.client.log_batch(self.run_id, params=new[start : start + 100])

    def _confusion_matrix_png(self, tmp: str) -> str | None:
        source = self.confusion_matrix
        if source is None:
            return None
        if isinstance(source, (str, os.PathLike)):
            return os.fspath(source) if os.path.isfile(source) else None
        matrix = getattr(source, "confusion_matrix", None)
        if matrix is None:
            return None
        from kerasft.evaluation import plots

        path = os.path.join(tmp, "confusion_matrix.png")
        with open(path, "wb") as f:
            f.write(plots.confusion_matrix_png(matrix, getattr(source, "class_names", None)))
        return path
