"""`kft.export` / `kerasft export`: SavedModel and TFLite (float16, int8) on real Fashion-MNIST."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerasft as kft
from kerasft import model_file
from kerasft.cli.main import main
from kerasft.deploy import calibration_images, check_tflite
from kerasft.errors import KerasftError

NUM_CHECKED = 300


def mobile_backbone(side):
    """A small MobileNet-like backbone (conv, depthwise conv, BatchNorm, ReLU6), fast to train.

    BatchNorm momentum 0.9: its moving statistics settle within one short epoch.
    """
    keras.utils.set_random_seed(0)
    inputs = keras.Input((side, side, 3))
    x = keras.layers.Rescaling(1 / 127.5, offset=-1)(inputs)
    x = keras.layers.Conv2D(16, 3, strides=2, padding="same", use_bias=False)(x)
    x = keras.layers.ReLU(6.0)(keras.layers.BatchNormalization(momentum=0.9)(x))
    x = keras.layers.DepthwiseConv2D(3, padding="same", use_bias=False)(x)
    x = keras.layers.ReLU(6.0)(keras.layers.BatchNormalization(momentum=0.9)(x))
    x = keras.layers.Conv2D(32, 1, strides=2, use_bias=False)(x)
    x = keras.layers.ReLU(6.0)(keras.layers.BatchNormalization(momentum=0.9)(x))
    # A dense layer over the whole map: pooled 8x8 maps of so few channels learn too slowly.
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(64, activation="relu")(x)
    return keras.Model(inputs, x, name="mobile_backbone")


@pytest.fixture(scope="module")
def trained(tmp_path_factory, fashion_mnist):
    """A kft.build model (28x28 grayscale in, resized to 32 inside) fine-tuned for one epoch."""
    (x_train, y_train), (x_test, y_test), names = fashion_mnist
    model = kft.build(mobile_backbone(32), 10, input_shape=(28, 28, 1), dropout=0.0)
    kft.get_backbone(model).trainable = True
    model.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy")
    model.fit(x_train[:6000], y_train[:6000], epochs=1, batch_size=64, verbose=0)
    path = tmp_path_factory.mktemp("export") / "fmnist.keras"
    model_file.save(model, path, class_names=names, data="keras:fashion_mnist")
    images = x_test[:NUM_CHECKED, ..., None]
    return model, path, images, y_test[:NUM_CHECKED]


@pytest.mark.parametrize("quantize, agreement", [("float16", 0.99), ("int8", 0.97)])
def test_tflite_agrees_with_the_keras_model(trained, tmp_path, quantize, agreement):
    model, path, images, labels = trained
    out = kft.export(path, tmp_path / f"m_{quantize}.tflite", format="tflite", quantize=quantize)
    assert out.input_shape == (None, 28, 28, 1)
    check = check_tflite(out.path, images, reference=model)
    assert check.runtime == "LiteRT (ai_edge_litert)"
    assert check.probabilities.shape == (NUM_CHECKED, 10)
    assert check.agreement >= agreement
    # The model is trained: its classes vary and its answers are mostly confident.
    keras_probs = model.predict(images, verbose=0)
    assert len(set(keras_probs.argmax(-1))) >= 8
    assert np.median(keras_probs.max(-1)) > 0.6
    assert (keras_probs.argmax(-1) == labels).mean() > 0.7
    size = out.path.stat().st_size
    float_bytes = 4 * model.count_params()
    assert size < float_bytes * (0.7 if quantize == "float16" else 0.45)


def test_saved_model_serves_uint8_images(trained, tmp_path):
    model, path, images, _ = trained
    out = kft.export(path, tmp_path / "sm")
    served = tf.saved_model.load(str(out.path))
    batch = tf.constant(images[:64])
    assert (
        served.signatures["serving_default"].structured_input_signature[1]["images"].dtype
        == tf.uint8
    )
    want = model.predict(images[:64], verbose=0)
    np.testing.assert_allclose(served.serve(batch).numpy(), want, atol=1e-4)
    (signature_out,) = served.signatures["serving_default"](images=batch).values()
    np.testing.assert_allclose(signature_out.numpy(), want, atol=1e-4)


def test_free_size_model_needs_a_size(tmp_path):
    model = kft.build(mobile_backbone(32), 3, input_shape=(None, None, 3))
    keras_path = tmp_path / "free.keras"
    model_file.save(model, keras_path, image_size=(40, 40))
    assert kft.export(keras_path, tmp_path / "sm").input_shape == (None, 40, 40, 3)
    assert kft.export(model, tmp_path / "sm2", image_size=24).input_shape == (None, 24, 24, 3)
    # Without a recorded size, kft.build's own resize size (its backbone's 32) is used.
    assert kft.export(model, tmp_path / "sm3").input_shape == (None, 32, 32, 3)
    # A plain free-size model with no resize layer cannot guess: the error names the fix.
    bare = keras.Sequential([keras.Input((None, None, 3)), keras.layers.GlobalMaxPooling2D()])
    with pytest.raises(KerasftError, match="--image-size"):
        kft.export(bare, tmp_path / "sm4")


def test_calibration_sources(trained, tmp_path):
    from PIL import Image

    _, _, images, _ = trained
    for i, image in enumerate(images[:12]):
        (tmp_path / f"class_{i % 2}").mkdir(exist_ok=True)
        Image.fromarray(image[..., 0]).save(tmp_path / f"class_{i % 2}" / f"{i}.png")
    from_folder = calibration_images(str(tmp_path), (None, 28, 28, 1), (28, 28), count=200)
    assert from_folder.shape == (12, 28, 28, 1) and from_folder.dtype == np.uint8
    # Grayscale files come back bit for bit.
    assert {bytes(a) for a in from_folder} == {bytes(a) for a in images[:12]}
    keras_images = calibration_images("keras:fashion_mnist", (None, 32, 32, 3), (32, 32), 7)
    assert keras_images.shape == (7, 32, 32, 3)
    with pytest.raises(KerasftError, match="fashion_mnist"):  # the did-you-mean
        calibration_images("keras:fashon_mnist", (None, 28, 28, 1), (28, 28))


def test_cli_exports_int8_and_reports_speed(trained, tmp_path, capsys):
    model, path, _, _ = trained
    out = tmp_path / "cli_int8.tflite"
    code = main(
        ["export", str(path), "--format", "tflite", "--quantize", "int8", "--out", str(out)]
    )
    printed = capsys.readouterr().out
    assert code == 0 and out.stat().st_size > 0
    assert f"exported tflite (int8) to {out}" in printed
    assert "MB" in printed and "images/s" in printed and "LiteRT (ai_edge_litert)" in printed
    assert "images from keras:fashion_mnist" in printed
    agreement = float(printed.split("top-1 agreement with the Keras model ")[1].split("%")[0])
    assert agreement >= 97.0


def test_cli_errors_are_clear(trained, tmp_path, capsys):
    model, _, _, _ = trained
    bare = tmp_path / "bare.keras"
    model.save(bare)  # no recorded data to calibrate on
    assert main(["export", str(bare), "--format", "tflite", "--quantize", "int8"]) == 2
    assert "--calibration" in capsys.readouterr().err
    assert main(["export", str(bare), "--quantize", "float16"]) == 2
    assert "TFLite only" in capsys.readouterr().err


def test_int8_of_fine_tuned_imagenet_mobilenet_agrees_with_keras(
    tmp_path, fashion_mnist, imagenet_mobilenet
):
    # The default backbone with its real weights: full int8 agreed with Keras on 88% of these
    # images (MobileNet's conv_pw_1 / conv_dw_1 quantize badly); kept in float, 97.75%.
    (x, y), (x_test, _), _ = fashion_mnist
    keras.utils.set_random_seed(0)
    model = kft.build("mobilenet", 10, input_shape=(28, 28, 1), image_size=96)
    kft.fine_tune(
        model, (x[:3000], y[:3000]), epochs=(3, 1), unfreeze_blocks=2, ft_lr=3e-4, verbose=0
    )
    exported = kft.export(
        model,
        tmp_path / "m.tflite",
        format="tflite",
        quantize="int8",
        calibration=x[3000:3200, ..., None],
    )
    assert any("conv_dw_1_relu" in name for name in exported.float_layers)
    check = check_tflite(exported.path, x_test[:400, ..., None], reference=model)
    assert check.agreement >= 0.97
