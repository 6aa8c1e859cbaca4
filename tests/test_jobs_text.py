"""`kerasft fit`/`evaluate` on text data (a tiny random BERT preset; real weights elsewhere)."""

from __future__ import annotations

import csv
import json

import keras
import numpy as np
import pytest
import yaml
from test_text import topic_texts
from text_fixtures import tiny_preset

from kerasft import config
from kerasft.cli.main import main
from kerasft.errors import ConfigError

NAMES = ["business", "culture", "sport"]


@pytest.fixture(scope="module")
def preset(tmp_path_factory):
    return tiny_preset(tmp_path_factory.mktemp("tiny_bert"), num_layers=3)


@pytest.fixture(scope="module")
def texts_csv(tmp_path_factory):
    """A CSV with columns `body` (texts), `topic` (class names), plus a blank row."""
    x, y = topic_texts(150)
    path = tmp_path_factory.mktemp("texts") / "news.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "body", "topic"])
        for i, (text, label) in enumerate(zip(x, y)):
            writer.writerow([i, text, NAMES[label]])
        writer.writerow([999, "   ", "sport"])
    return path


def test_text_data_gets_the_text_recipe_under_the_users_keys(texts_csv):
    cfg = config.resolve({"data": str(texts_csv), "text_col": "body"})
    assert cfg["backbone"] == "minilm" and cfg["unfreeze_blocks"] == 2
    assert cfg["epochs"] == list(config.TEXT_DEFAULTS["epochs"])
    cfg = config.resolve({"data": str(texts_csv), "text_col": "body"}, {"unfreeze_blocks": 3})
    assert cfg["unfreeze_blocks"] == 3
    # Without the right text column the CSV is taken for images (and the loader says so).
    assert config.resolve({"data": str(texts_csv)})["backbone"] == "mobilenet"
    with pytest.raises(ConfigError, match="sequence_length"):
        config.resolve({"sequence_length": 1})


def test_fit_and_evaluate_a_text_csv(preset, texts_csv, tmp_path, capsys):
    run_dir = tmp_path / "run"
    code = main(
        [
            "fit", "--data", str(texts_csv), "--text-col", "body", "--label-col", "topic",
            "--backbone", str(preset), "--weights", "none", "--epochs", "3", "1",
            "--lr", "0.03", "--batch-size", "16", "--run-dir", str(run_dir), "--set", "verbose=0",
        ]
    )  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "1 unreadable files skipped" in out and "tokens per text" in out
    data = json.loads((run_dir / "data.json").read_text())
    assert data["modality"] == "text" and data["class_names"] == NAMES
    assert data["counts"] == {"train": 120, "val": 15, "test": 15}
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["sequence_length"] == 16 and metrics["test_samples"] == 15
    assert metrics["test_accuracy"] >= 0.6  # 3 topics; chance is 1/3
    assert 0 < metrics["test_macro_f1"] <= 1
    # The saved model takes strings.
    import kerasft  # noqa: F401  (registers the tokenizer layer)

    model = keras.models.load_model(run_dir / "model.keras")
    probs = model.predict(np.array(["the team won the cup match"], dtype=object), verbose=0)
    assert probs.shape == (1, 3)
    # evaluate scores the run's own test split, with the worst texts in the report.
    assert main(["evaluate", str(run_dir), "--out", str(tmp_path / "eval")]) == 0
    report = json.loads((tmp_path / "eval" / "report.json").read_text())
    assert report["accuracy"] == pytest.approx(metrics["test_accuracy"])
    assert report["top_losses"][0]["text"] in set(topic_texts(150)[0])
    md = (tmp_path / "eval" / "report.md").read_text()
    assert "## Worst-predicted texts" in md
    assert not (tmp_path / "eval" / "top_losses.png").exists()


def test_text_data_with_an_image_backbone_is_refused(texts_csv, tmp_path, capsys):
    code = main(
        [
            "fit", "--data", str(texts_csv), "--text-col", "body", "--label-col", "topic",
            "--backbone", "mobilenet", "--run-dir", str(tmp_path / "r"), "--set", "verbose=0",
        ]
    )  # fmt: skip
    assert code != 0
    assert "is an image backbone, but data=" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()  # refused before a run dir or any data


def test_tune_searches_a_text_backbone(preset, texts_csv, tmp_path):
    import kerasft as kft
    from kerasft.tuning import SearchSpace

    space = SearchSpace({"sequence_length": [16, 24], "lr": [0.03]}, only=["sequence_length", "lr"])
    result = kft.tune(
        space=space,
        base={
            "data": str(texts_csv), "text_col": "body", "label_col": "topic",
            "backbone": str(preset), "weights": None, "epochs": [1, 1], "batch_size": 16,
        },
        tuner="grid", max_trials=2, directory=tmp_path, export=True,
    )  # fmt: skip
    assert sorted(row["sequence_length"] for row in result.rows) == [16, 24]
    assert all(row["objective"] is not None for row in result.rows)
    best = yaml.safe_load((tmp_path / "search" / "best_config.yaml").read_text())
    assert best["backbone"] == str(preset) and best["sequence_length"] in (16, 24)
    assert "image_size" not in result.rows[0] and "backbone" not in result.rows[0]


def test_backbones_lists_text_backbones_and_their_blocks(preset, capsys):
    assert main(["backbones"]) == 0
    out = capsys.readouterr().out
    assert "minilm" in out and "all-MiniLM-L6-v2" in out and "[ready]" in out
    assert main(["backbones", "--blocks", str(preset)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == [
        "embeddings", "transformer_layer_0", "transformer_layer_1", "transformer_layer_2",
    ]  # fmt: skip
