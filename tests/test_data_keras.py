"""Keras datasets from local files: Fashion-MNIST from Debian's package, never a download."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import kerasft.data as kdata
from kerasft.cli.main import main
from kerasft.data import keras_datasets
from kerasft.errors import KerasftError


# `make test` installs Fashion-MNIST, so the tests that need it take the `fashion_mnist` fixture
# and fail (with load_arrays' how-to-get-it message) when it is missing: no skip.
def test_ensure_local_and_load_arrays(fashion_mnist):
    assert keras_datasets.ensure_local("fashion_mnist") is True
    assert keras_datasets.ensure_local("fashion-mnist") is True  # idempotent, alias
    for directory in keras_datasets._keras_datasets_dirs():
        assert (directory / "fashion-mnist/train-images-idx3-ubyte.gz").stat().st_size > 1000
    (x, y), (x_test, y_test), names = fashion_mnist
    assert x.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y.shape == (60000,) and set(np.unique(y)) == set(range(10))
    assert names[0] == "T-shirt/top" and names[9] == "Ankle boot"


def test_from_keras_slice(fashion_mnist):
    data = kdata.from_keras(
        "fashion_mnist", image_size=32, channels=3, validation_split=0.1, limit=600, batch_size=64
    )
    assert data.info.num_examples == 1200 and data.info.input_shape == (32, 32, 3)
    assert sum(data.info.split_counts["val"].values()) == 60
    images, labels = next(iter(data.test))
    assert images.shape == (64, 32, 32, 3) and images.dtype.name == "uint8"
    assert 60 < float(np.mean(images.numpy())) < 110  # Fashion-MNIST's mean is about 73
    assert labels.dtype.name == "int32"


def test_missing_files_give_a_clear_error_without_downloading(monkeypatch, tmp_path):
    monkeypatch.setattr(keras_datasets, "_keras_datasets_dirs", lambda: [tmp_path / "datasets"])
    monkeypatch.setattr(keras_datasets, "SYSTEM_FASHION_MNIST", tmp_path / "absent")
    for name, hint in (("fashion_mnist", "dataset-fashion-mnist"), ("cifar10", "cifar-10-python")):
        assert keras_datasets.ensure_local(name) is False
        with pytest.raises(KerasftError, match=f"not on this machine.*{hint}"):
            kdata.load_arrays(name)
    with pytest.raises(KerasftError, match="Did you mean 'cifar10'"):
        kdata.load_arrays("cifar11")


def test_cifar_archive_is_linked_under_the_name_keras_expects(monkeypatch, tmp_path):
    datasets = tmp_path / "datasets"
    datasets.mkdir()
    monkeypatch.setattr(keras_datasets, "_keras_datasets_dirs", lambda: [datasets])
    (datasets / "cifar-10-python.tar.gz").write_bytes(b"not really a tarball")
    assert keras_datasets.ensure_local("cifar10") is True
    assert (datasets / "cifar-10-batches-py-target_archive").read_bytes() == b"not really a tarball"
    assert len(keras_datasets.class_names("cifar100")) == 100


def test_cli_prepare_is_idempotent(fashion_mnist, capsys):
    assert main(["data", "prepare", "fashion_mnist"]) == 0
    assert main(["data", "prepare", "fashion_mnist"]) == 0
    assert "fashion_mnist: ready in" in capsys.readouterr().out


def test_cli_prepare_unknown_name(capsys):
    assert main(["data", "prepare", "fashon_mnist"]) == 2
    assert "Did you mean 'fashion_mnist'" in capsys.readouterr().err


def test_cli_info_on_a_folder(tmp_path, capsys):
    from PIL import Image

    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        for i in range(2):
            Image.new("RGB", (8, 8), (i * 100, 0, 0)).save(tmp_path / name / f"{i}.png")
    (tmp_path / "b" / "bad.png").write_text("nope")
    assert main(["data", "info", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "4 examples, 2 classes" in out and f"skipped {Path(tmp_path, 'b', 'bad.png')}" in out
