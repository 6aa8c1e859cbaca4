"""`kerasft evaluate` and `kerasft explain`, run in-process through the CLI entry point."""

import json

import keras
import numpy as np
import pytest
import yaml
from PIL import Image

from kerasft.cli.main import main


def small_model(shape, units, seed=0):
    """A kft.build-shaped model: input -> rescaling -> nested conv backbone -> pooling -> head."""
    keras.utils.set_random_seed(seed)
    bb_in = keras.Input((*shape[:2], 3))
    backbone = keras.Model(
        bb_in, keras.layers.Conv2D(4, 3, padding="same", activation="relu")(bb_in), name="bb"
    )
    inputs = keras.Input(shape)
    x = keras.layers.Rescaling(1 / 255.0)(inputs)
    if shape[-1] == 1:
        x = keras.layers.Concatenate()([x, x, x])
    x = backbone(x, training=False)
    x = keras.layers.GlobalAveragePooling2D()(x)
    out = keras.layers.Dense(units, activation="softmax")(x)
    return keras.Model(inputs, out)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for c, name in enumerate(["bright", "dark"]):
        (root / name).mkdir()
        for i in range(5):
            base = 200 if c == 0 else 40
            pixels = np.clip(base + rng.normal(0, 20, (20, 20, 3)), 0, 255).astype("uint8")
            Image.fromarray(pixels).save(root / name / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, folder):
    run = tmp_path_factory.mktemp("run")
    small_model((16, 16, 3), 2).save(run / "model.keras")
    (run / "config.yaml").write_text(yaml.safe_dump({"data": str(folder), "backbone": "tiny"}))
    (run / "metrics.json").write_text(json.dumps({"class_names": ["bright", "dark"]}))
    return run


def test_evaluate_run_dir_on_folder(run_dir, folder, capsys):
    # A folder given as --data is held-out data: all of it is scored (without --data a run
    # is scored on its own test split, tests/test_jobs_own_data.py); 20x20 images are
    # resized to the model's 16x16.
    assert main(["evaluate", str(run_dir), "--data", str(folder)]) == 0
    report = json.loads((run_dir / "evaluation" / "report.json").read_text())
    assert report["num_samples"] == 10
    assert report["class_names"] == ["bright", "dark"]
    assert sum(row["support"] for row in report["per_class"].values()) == 10
    for name in ("report.md", "confusion_matrix.png", "top_losses.png", "top_losses_gradcam.png"):
        assert (run_dir / "evaluation" / name).exists()
    assert "multiclass on 10 images" in capsys.readouterr().out

    out = run_dir / "tta_eval"
    assert main(["evaluate", str(run_dir / "model.keras"), "--data", str(folder), "--tta",
                 "--out", str(out)]) == 0  # fmt: skip
    assert json.loads((out / "report.json").read_text())["tta"]["flip"] is True


def test_evaluate_fashion_mnist(fashion_mnist, tmp_path):
    model_file = tmp_path / "fm.keras"
    small_model((28, 28, 1), 10).save(model_file)
    code = main(["evaluate", str(model_file), "--data", "fashion_mnist", "--limit", "40",
                 "--top-k", "3"])  # fmt: skip
    assert code == 0
    report = json.loads((tmp_path / "fm_evaluation" / "report.json").read_text())
    assert report["num_samples"] == 40
    assert report["class_names"][0] == "T-shirt/top"
    assert report["top_k"] == 3


def test_evaluate_errors(run_dir, folder, tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "nothing")]) == 2
    assert "no such file" in capsys.readouterr().err
    other = tmp_path / "three.keras"
    small_model((16, 16, 3), 3).save(other)
    assert main(["evaluate", str(other), "--data", str(folder)]) == 2
    assert "2 classes but the model has 3 outputs" in capsys.readouterr().err
    assert main(["evaluate", str(other)]) == 2
    assert "No --data" in capsys.readouterr().err


def test_explain_writes_overlays(run_dir, folder, tmp_path, capsys):
    images = [str(folder / "bright" / "0.png"), str(folder / "dark" / "1.png")]
    out = tmp_path / "cams"
    assert main(["explain", str(run_dir), "--images", *images, "--out", str(out)]) == 0
    assert "Grad-CAM layer: bb\n" in capsys.readouterr().out
    summary = json.loads((out / "explain.json").read_text())
    assert summary["layer"] == "bb"
    assert [r["predicted"] in ("bright", "dark") for r in summary["images"]] == [True, True]
    overlay = np.asarray(Image.open(out / "0_gradcam.png"))
    assert overlay.shape == (16, 16, 3)  # the image as the model saw it
    assert main(["explain", str(run_dir), "--images", str(tmp_path / "x.png"), "--out",
                 str(out)]) == 2  # fmt: skip
    assert main(["explain", str(run_dir), "--images", *images, "--out", str(out),
                 "--class-index", "7"]) == 2  # fmt: skip
