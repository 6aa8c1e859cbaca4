"""`kerasft fit`, `evaluate` and `predict` on a folder of real audio clips (the KLettres letters
of three languages), with musicnn's real weights and the audio recipe's defaults."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import yaml
from audio_corpora import prepared

import kerasft as kft
from kerasft import config
from kerasft.cli.main import main

LANGUAGES = ("en", "fr", "ru")


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """24 real clips per language, linked into a class-folder tree."""
    root = tmp_path_factory.mktemp("clips")
    source = prepared("spoken_languages")
    for language in LANGUAGES:
        (root / language).mkdir()
        for path in sorted((source / language).glob("*.ogg"))[:24]:
            (root / language / path.name).symlink_to(path)
    return root


def test_audio_data_gets_the_audio_recipe_and_other_backbones_are_refused(clips, tmp_path, capsys):
    cfg = config.resolve({"data": str(clips)})
    assert {k: cfg[k] for k in config.AUDIO_DEFAULTS} == {
        **config.AUDIO_DEFAULTS,
        "epochs": list(config.AUDIO_DEFAULTS["epochs"]),
    }
    assert config.resolve({"data": str(clips), "lr": 0.01})["lr"] == 0.01  # keys still win
    for args, message in [
        (["--data", str(clips), "--backbone", "mobilenet"], "is an image backbone, but data="),
        (["--data", "fashion_mnist", "--backbone", "musicnn"], "is an audio backbone, but data="),
    ]:
        code = main(["fit", *args, "--run-dir", str(tmp_path / "r"), "--set", "verbose=0"])
        assert code != 0
        assert message in capsys.readouterr().err
        assert not (tmp_path / "r").exists()  # refused before a run dir or any data
    with pytest.raises(config.ConfigError, match="clip_seconds"):
        config.resolve({"data": str(clips), "clip_seconds": 0})


def test_fit_evaluate_and_predict_on_an_audio_folder(clips, tmp_path, capsys):
    run = tmp_path / "run"
    code = main(
        [
            "fit", "--data", str(clips), "--run-dir", str(run), "--clip-seconds", "1.5",
            "--set", "epochs=[8,2]", "--set", "test_split=0.25", "--set", "verbose=0",
        ]
    )  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "clips of 1.5 s" in out
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["clip_samples"] == 24000
    assert metrics["test_samples"] == 18 and metrics["epochs"] == 10
    assert metrics["test_accuracy"] >= 0.6  # 3 classes (chance 0.33); measured 0.78
    assert json.loads((run / "data.json").read_text())["modality"] == "audio"
    assert yaml.safe_load((run / "config.yaml").read_text())["backbone"] == "musicnn"

    assert main(["evaluate", str(run)]) == 0
    assert "on 18 clips" in capsys.readouterr().out
    report = json.loads((run / "evaluation" / "report.json").read_text())
    assert report["accuracy"] == pytest.approx(metrics["test_accuracy"])
    assert not (run / "evaluation" / "top_losses.png").exists()  # clips are listed, not drawn
    assert "## Top losses" in (run / "evaluation" / "report.md").read_text()

    model = keras.saving.load_model(run / "model.keras")
    files = sorted((clips / "fr").iterdir())[:3]
    by_path = kft.predict(run, [str(f) for f in files])
    from kerasft.data.audio import fit_length
    from kerasft.data.audio_files import read_audio

    waves = np.stack([fit_length(read_audio(f), 24000) for f in files])
    np.testing.assert_allclose(by_path, model.predict(waves, verbose=0), atol=1e-5)
    assert by_path.shape == (3, 3)


def test_tune_searches_an_audio_model(clips, tmp_path):
    from kerasft.tuning import SearchSpace

    space = SearchSpace(
        {"augmentation": ["none", "light"], "lr": [0.01]}, only=["augmentation", "lr"]
    )
    result = kft.tune(
        space=space,
        base={"data": str(clips), "clip_seconds": 1.5, "epochs": [2, 1], "test_split": 0.25},
        tuner="grid", max_trials=2, directory=tmp_path, export=True,
    )  # fmt: skip
    assert sorted(row["augmentation"] for row in result.rows) == ["light", "none"]
    assert all(row["objective"] is not None for row in result.rows)
    assert "image_size" not in result.rows[0] and "backbone" not in result.rows[0]
    best = yaml.safe_load((tmp_path / "search" / "best_config.yaml").read_text())
    assert best["backbone"] == "musicnn" and best["augmentation"] in (None, "light")  # none: null


def test_backbones_lists_musicnn_and_its_blocks(capsys):
    assert main(["backbones"]) == 0
    out = capsys.readouterr().out
    assert "audio backbones" in out and "musicnn" in out and "[ready]" in out
    assert main(["backbones", "--blocks", "musicnn"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["stem", *(f"block{i}" for i in range(1, 6))]
