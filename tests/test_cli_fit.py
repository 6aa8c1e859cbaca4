"""`kerasft fit` end to end on a tiny subset of real Fashion-MNIST with real ImageNet weights."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import yaml

import kerasft as kft
from kerasft.cli.main import main
from kerasft.errors import KerasftError
from kerasft.training.warm_start import warm_start


def test_fit_on_a_tiny_subset_writes_a_complete_run_dir(
    tmp_path, fashion_mnist, imagenet_mobilenet, capsys
):
    config = tmp_path / "job.yaml"
    config.write_text(
        yaml.safe_dump(
            # A tiny budget: keep phase 2 small so 200 images give a clear signal.
            {
                "train_samples": 200,
                "val_samples": 50,
                "batch_size": 20,
                "unfreeze_blocks": 2,
                "ft_lr": 1e-4,
                "ft_schedule": None,
                # BatchNorm statistics of 10 batches of 20 would not settle.
                "train_bn": False,
            }
        )
    )
    run_dir = tmp_path / "run"
    code = main(
        [
            "fit", "--config", str(config), "--image-size", "48", "--epochs", "3", "1", "--lr", "0.003",
            "--cache", "off", "--run-dir", str(run_dir), "--set", "verbose=0",
        ]
    )  # fmt: skip
    assert code == 0
    for name in ("config.yaml", "history.csv", "model.keras", "metrics.json", "tensorboard"):
        assert (run_dir / name).exists(), name
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["test_samples"] == 10_000  # always the full official test set
    assert metrics["train_samples"] == 200 and metrics["epochs"] == 4
    # 200 images are enough for ImageNet features to beat chance (10%) clearly.
    assert metrics["test_accuracy"] > 0.3
    assert set(metrics["wall_time_s"]) >= {"phase_1", "phase_2", "total"}
    resolved = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert resolved["image_size"] == 48 and resolved["train_samples"] == 200
    model = keras.models.load_model(run_dir / "model.keras")
    (_, _), (x_test, y_test), _ = fashion_mnist
    acc = np.mean(model.predict(x_test[:500], verbose=0).argmax(-1) == y_test[:500])
    assert abs(acc - metrics["test_accuracy"]) < 0.1
    out = capsys.readouterr().out
    assert "test accuracy" in out and "run directory" in out

    # Warm start: continue the earlier run's model on more data, classes kept.
    more = tmp_path / "more"
    assert main(
        [
            "fit", "--from", str(run_dir), "--train-samples", "300", "--val-samples", "50",
            "--epochs", "0", "1", "--cache", "off", "--run-dir", str(more), "--set", "verbose=0",
        ]
    ) == 0  # fmt: skip
    assert "warm start from" in capsys.readouterr().out
    again = json.loads((more / "metrics.json").read_text())
    assert again["class_names"] == metrics["class_names"]
    assert again["test_accuracy"] > 0.3

    with pytest.raises(KerasftError, match="trained on classes"):
        warm_start(run_dir, ["cat", "dog"])
    fresh = warm_start(run_dir, ["cat", "dog"], reinit_head=True)
    assert fresh.output_shape == (None, 2)
    kft.fine_tune(fresh, (x_test[:8], np.arange(8) % 2), epochs=(1, 0), verbose=0)


def test_fit_refuses_unknown_keys_before_training(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("epoch: 3\n")
    assert main(["fit", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "Unknown" in err and "'epoch'" in err and "Did you mean 'epochs'" in err
    assert main(["fit", "--set", "lr=fast"]) == 2
    assert "'lr' = 'fast' should be float or int" in capsys.readouterr().err
    assert main(["fit", "--backbone", "mobilenet_v9", "--cache", "off"]) == 2
    assert "Unknown backbone 'mobilenet_v9'" in capsys.readouterr().err
    # An unknown ft_schedule fails before the run directory or the data exist.
    run_dir = tmp_path / "never"
    assert main(["fit", "--set", "ft_schedule=linear", "--run-dir", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert "ft_schedule='linear'" in err and "'cosine' or null" in err
    assert not run_dir.exists()
