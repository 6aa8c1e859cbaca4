"""MLflowLogger against a real local MLflow store (sqlite in a temp dir), read back with MlflowClient."""

from __future__ import annotations

import io

import keras
import mlflow
import numpy as np
import pytest
from kerasft_mlflow import MLflowLogger
from mlflow import MlflowClient
from PIL import Image

import kerasft.callbacks as kcb
from kerasft.callbacks.tensorboard_extras import TensorBoardExtras
from kerasft.errors import KerasftError
from kerasft.training.phase import Phase, running_phase


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("mlflow")
    # Creating the sqlite schema takes a few seconds: one store for the whole module.
    return f"sqlite:///{root}/mlflow.db", str(root / "artifacts")


def make_data(n, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.normal(0, 0.3, (n, 4)).astype("float32")
    x[np.arange(n), y] += 2.0
    return x, y


def make_model():
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(8, activation="relu", name="body"),
            keras.layers.Dense(3, activation="softmax", name="head"),
        ],
        name="toy",
    )
    return model


@pytest.fixture(scope="module")
def two_phase_run(store, tmp_path_factory):
    """A fine-tune in two fits as kft.fine_tune runs it: frozen body, then unfrozen at a lower LR."""
    uri, artifacts = store
    tmp = tmp_path_factory.mktemp("run")
    config = tmp / "config.yaml"
    config.write_text("backbone: toy\nepochs: [2, 2]\n")
    extra = tmp / "notes.txt"
    extra.write_text("hello")
    (x, y), (xv, yv) = make_data(64, 0), make_data(30, 1)
    keras.utils.set_random_seed(0)
    model = make_model()
    extras = TensorBoardExtras(tmp / "tb", validation_data=(xv, yv), class_names=["a", "b", "c"])
    logger = MLflowLogger(
        tracking_uri=uri,
        experiment_name="two-phase",
        artifact_location=artifacts,
        run_name="toy-run",
        params={"data": "toy", "augment": {"flip": True}},
        tags={"team": "kerasft"},
        config_path=config,
        confusion_matrix=extras,
        artifacts=[extra],
    )
    callbacks = [extras, logger]
    model.get_layer("body").trainable = False
    model.compile(
        keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    with running_phase(model, Phase(1, 0, 2, total_epochs=4, lr=0.01)):
        model.fit(x, y, validation_data=(xv, yv), epochs=2, verbose=0, callbacks=callbacks)
    model.get_layer("body").trainable = True
    model.compile(
        keras.optimizers.Adam(0.001), "sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    with running_phase(model, Phase(2, 2, 4, total_epochs=4, lr=0.001)):
        history = model.fit(
            x,
            y,
            validation_data=(xv, yv),
            epochs=4,
            initial_epoch=2,
            verbose=0,
            callbacks=callbacks,
        )
    return model, logger, MlflowClient(uri), history, (xv, yv), tmp


def test_one_finished_run_for_both_fits(two_phase_run):
    _, logger, client, _, _, _ = two_phase_run
    experiment = client.get_experiment_by_name("two-phase")
    runs = client.search_runs([experiment.experiment_id])
    assert [r.info.run_id for r in runs] == [logger.run_id]
    run = runs[0]
    assert run.info.status == "FINISHED" and run.info.run_name == "toy-run"
    assert run.data.tags["team"] == "kerasft"


def test_params_optimizer_model_and_user(two_phase_run):
    model, logger, client, _, _, _ = two_phase_run
    params = client.get_run(logger.run_id).data.params
    assert params["optimizer.class"] == "Adam" and params["optimizer.name"].startswith("adam")
    assert float(params["optimizer.learning_rate"]) == pytest.approx(0.01)
    assert float(params["optimizer.learning_rate.phase2"]) == pytest.approx(0.001)
    assert params["model.name"] == "toy" and params["model.total_params"] == str(
        4 * 8 + 8 + 8 * 3 + 3
    )
    assert params["model.trainable_params"] == str(8 * 3 + 3)  # body frozen in phase 1
    assert params["model.trainable_params.phase2"] == params["model.total_params"]
    assert params["fit.epochs"] == "2" and params["fit.epochs.phase2"] == "4"
    assert params["data"] == "toy" and params["augment.flip"] == "True"
    assert "optimizer.class.phase2" not in params  # unchanged values are logged once


def test_metrics_per_epoch_over_both_phases(two_phase_run):
    _, logger, client, history, _, _ = two_phase_run
    for key in ("loss", "val_loss", "accuracy", "val_accuracy", "learning_rate"):
        points = sorted(client.get_metric_history(logger.run_id, key), key=lambda m: m.step)
        assert [m.step for m in points] == [0, 1, 2, 3], key
    val_loss = sorted(client.get_metric_history(logger.run_id, "val_loss"), key=lambda m: m.step)
    assert [m.value for m in val_loss[2:]] == pytest.approx(history.history["val_loss"])
    lr = sorted(client.get_metric_history(logger.run_id, "learning_rate"), key=lambda m: m.step)
    assert [m.value for m in lr] == pytest.approx([0.01, 0.01, 0.001, 0.001])
    trainable = sorted(
        client.get_metric_history(logger.run_id, "trainable_params"), key=lambda m: m.step
    )
    assert [(m.step, m.value) for m in trainable] == [(0, 27), (2, 67)]


def test_artifacts_model_config_confusion_matrix(two_phase_run):
    model, logger, client, _, (xv, _), tmp = two_phase_run
    paths = {a.path for a in client.list_artifacts(logger.run_id)}
    assert {"model", "config", "confusion_matrix.png", "notes.txt"} <= paths
    local = client.download_artifacts(logger.run_id, "model/model.keras", str(tmp / "dl"))
    restored = keras.saving.load_model(local)
    np.testing.assert_allclose(
        restored.predict(xv, verbose=0), model.predict(xv, verbose=0), atol=1e-6
    )
    config = client.download_artifacts(logger.run_id, "config/config.yaml", str(tmp / "dl"))
    assert "epochs: [2, 2]" in open(config).read()
    png = client.download_artifacts(logger.run_id, "confusion_matrix.png", str(tmp / "dl"))
    with open(png, "rb") as f:
        image = Image.open(io.BytesIO(f.read()))
    assert image.format == "PNG" and min(image.size) > 100


def test_logs_into_an_active_run_and_leaves_it_open(store):
    uri, artifacts = store
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:
        experiment = mlflow.set_experiment("active")
        with mlflow.start_run() as active:
            mlflow.log_param("outer", "yes")
            model = make_model()
            model.compile("sgd", "sparse_categorical_crossentropy")
            logger = MLflowLogger(log_model=False)
            model.fit(*make_data(16, 2), epochs=2, verbose=0, callbacks=[logger])
            assert logger.run_id == active.info.run_id
            assert MlflowClient(uri).get_run(active.info.run_id).info.status == "RUNNING"
        run = MlflowClient(uri).get_run(active.info.run_id)
        assert run.data.params["outer"] == "yes" and "optimizer.class" in run.data.params
        assert len(MlflowClient(uri).get_metric_history(run.info.run_id, "loss")) == 2
        assert experiment.name == "active"
    finally:
        mlflow.set_tracking_uri(previous)


def test_registered_as_the_mlflow_plugin(store):
    uri, artifacts = store
    origins = {info.name: info.origin for info in kcb.entries()}
    assert origins["mlflow"] == "kerasft-mlflow 0.1.0"
    [logger] = kcb.from_config([{"name": "mlflow", "tracking_uri": uri, "log_model": False}])
    assert isinstance(logger, MLflowLogger) and logger.tracking_uri == uri


def test_bad_arguments(tmp_path):
    with pytest.raises(KerasftError, match="config_path .* is not a file"):
        MLflowLogger(config_path=tmp_path / "missing.yaml")
    with pytest.raises(KerasftError, match="params must be a dict"):
        MLflowLogger(params=["a"])
    with pytest.raises(KerasftError, match="confusion_matrix must be a PNG path"):
        MLflowLogger(confusion_matrix=3)
