"""Grad-CAM on a tiny conv net trained to find a bright square: the heatmap peak must land on it."""

import keras
import numpy as np
import pytest

from kerasft.errors import KerasftError
from kerasft.explain import GradCAM, explain, overlay

SIZE, SQUARE = 24, 6


def square_images(n, rng, with_square):
    x = rng.uniform(0, 60, (n, SIZE, SIZE, 1)).astype("float32")  # dim noise, 0..255 scale
    corners = rng.integers(0, SIZE - SQUARE + 1, (n, 2))
    for i, (r, c) in enumerate(corners):
        if with_square[i]:
            x[i, r : r + SQUARE, c : c + SQUARE] = 255.0
    return x, corners


def kft_like_model():
    """Input -> Rescaling -> nested conv backbone (training=False) -> pooling -> dropout -> Dense."""
    bb_in = keras.Input((SIZE, SIZE, 1))
    h = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(bb_in)
    h = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(h)
    backbone = keras.Model(bb_in, h, name="tiny_backbone")
    inputs = keras.Input((SIZE, SIZE, 1))
    x = keras.layers.Rescaling(1 / 255.0)(inputs)
    x = backbone(x, training=False)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.1)(x)
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x), name="square_net")


@pytest.fixture(scope="module")
def trained():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    has = np.arange(400) % 2 == 1
    x, _ = square_images(400, rng, has)
    model = kft_like_model()
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    model.fit(x, has.astype(int), epochs=6, batch_size=32, verbose=0)
    return model


def peak_hits_square(heatmaps, corners, margin=1):
    hits = []
    for heat, (r, c) in zip(heatmaps, corners, strict=True):
        pr, pc = np.unravel_index(np.argmax(heat), heat.shape)
        hits.append(
            r - margin <= pr < r + SQUARE + margin and c - margin <= pc < c + SQUARE + margin
        )
    return np.mean(hits)


def test_heatmap_peak_falls_on_the_square(trained, tmp_path):
    rng = np.random.default_rng(1)
    x, corners = square_images(20, rng, np.ones(20, bool))
    probs = trained.predict(x, verbose=0)
    assert probs[:, 1].mean() > 0.9, "the tiny net did not learn the task; the test is moot"

    explainer = GradCAM(trained)
    assert explainer.layer.name == "tiny_backbone"  # the nested backbone was found
    heat = explainer(x, class_index=1)
    assert heat.shape == (20, SIZE, SIZE)
    assert heat.min() >= 0.0 and heat.max() <= 1.0
    assert peak_hits_square(heat, corners, margin=0) >= 0.9
    # Inside the square the map is hot, far from it cold.
    inside = np.mean([h[r : r + SQUARE, c : c + SQUARE].mean() for h, (r, c) in zip(heat, corners)])
    assert inside > 5 * heat.mean()

    # A model reloaded by plain Keras gives the same heatmaps (default class = predicted = 1).
    trained.save(tmp_path / "m.keras")
    reloaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(explain(reloaded, x), heat, atol=1e-4)


def test_plain_conv_net_layer_choice_and_errors():
    keras.utils.set_random_seed(0)
    net = keras.Sequential(
        [
            keras.Input((12, 12, 3)),
            keras.layers.Conv2D(4, 3, name="conv1"),
            keras.layers.Conv2D(4, 3, name="conv2"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    x = np.random.default_rng(0).random((3, 12, 12, 3)).astype("float32")
    assert GradCAM(net).layer.name == "conv2"
    assert GradCAM(net, layer="conv1")(x).shape == (3, 12, 12)
    assert explain(net, x[0], class_index=2).shape == (1, 12, 12)
    with pytest.raises(KerasftError, match="conv2"):
        GradCAM(net, layer="conv3")  # did-you-mean names the close one
    with pytest.raises(KerasftError, match="class_index"):
        explain(net, x, class_index=3)
    dense_only = keras.Sequential([keras.Input((5,)), keras.layers.Dense(2, activation="softmax")])
    with pytest.raises(KerasftError, match="convolutional"):
        GradCAM(dense_only)


def test_binary_model_classes_and_overlay(trained):
    keras.utils.set_random_seed(0)
    binary = keras.Sequential(
        [
            keras.Input((10, 10, 1)),
            keras.layers.Conv2D(3, 3, padding="same", name="c"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    x = np.random.default_rng(2).random((2, 10, 10, 1)).astype("float32")
    pos, neg = explain(binary, x, class_index=1), explain(binary, x, class_index=0)
    assert pos.shape == neg.shape == (2, 10, 10)
    assert not np.allclose(pos, neg)  # class 0 explains the negated logit
    images = np.random.default_rng(3).integers(0, 256, (2, 10, 10, 1)).astype("uint8")
    blended = overlay(images, pos)
    assert blended.shape == (2, 10, 10, 3) and blended.dtype == np.uint8
    # Hot regions turn red-ish: where the heatmap is 1 the red channel is high.
    hot = np.unravel_index(np.argmax(pos[0]), pos[0].shape)
    assert blended[0][hot][0] >= 0.45 * 255 * 0.5


def test_ensemble_is_explained_by_its_members(trained, tmp_path):
    from kerasft.ensembles import ensemble

    trained.save(tmp_path / "a.keras")
    twin = keras.models.load_model(tmp_path / "a.keras")  # same weights, distinct variables
    combined = ensemble([trained, twin])
    x, corners = square_images(6, np.random.default_rng(4), np.ones(6, bool))
    explainer = GradCAM(combined)
    assert explainer.layer is None and len(explainer.members) == 2
    assert "tiny_backbone" in explainer.layer_name
    heat = explainer(x)  # the ensemble's predicted class: the square
    np.testing.assert_allclose(heat, explain(trained, x, class_index=1), atol=1e-4)
    assert peak_hits_square(heat, corners, margin=0) >= 0.8


def test_kft_explain_stays_callable_after_the_package_is_imported():
    import kerasft as kft
    import kerasft.explain.gradcam  # noqa: F401  (what kft.evaluate does for its Grad-CAM grid)

    net = keras.Sequential(
        [
            keras.Input((6, 6, 1)),
            keras.layers.Conv2D(2, 3),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )
    assert kft.explain(net, np.ones((1, 6, 6, 1), "float32")).shape == (1, 6, 6)


def pooled_backbone_model():
    """Like `kft_like_model`, but the backbone ends 3 x 3: the default layer lies inside it."""
    bb_in = keras.Input((SIZE, SIZE, 1))
    h = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv_a")(bb_in)
    h = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv_b")(h)
    h = keras.layers.MaxPooling2D(SIZE // 3, name="pool")(h)
    backbone = keras.Model(bb_in, h, name="pooled_backbone")
    inputs = keras.Input((SIZE, SIZE, 1))
    x = keras.layers.Rescaling(1 / 255.0)(inputs)
    x = backbone(x, training=False)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x), name="pooled_net")


def test_a_coarse_backbone_is_explained_by_its_deepest_fine_layer(tmp_path):
    from kerasft.explain.gradcam import MIN_SIDE

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    has = np.arange(400) % 2 == 1
    x, _ = square_images(400, rng, has)
    model = pooled_backbone_model()
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    model.fit(x, has.astype(int), epochs=6, batch_size=32, verbose=0)
    test_x, corners = square_images(20, np.random.default_rng(1), np.ones(20, bool))
    assert model.predict(test_x, verbose=0)[:, 1].mean() > 0.9, "the net did not learn; moot"

    explainer = GradCAM(model)
    # The 3 x 3 backbone output is below MIN_SIDE; conv_b (24 x 24) is the deepest map above it.
    assert MIN_SIDE == 7
    assert explainer.layer_name == "pooled_backbone/conv_b"
    heat = explainer(test_x, class_index=1)
    assert peak_hits_square(heat, corners, margin=0) >= 0.9
    # The backbone's own 3 x 3 output cannot place the peak on a 6 px square as well.
    coarse = GradCAM(model, layer="pooled_backbone")(test_x, class_index=1)
    assert peak_hits_square(coarse, corners, margin=0) < peak_hits_square(heat, corners, 0)

    # layer= names a layer inside the backbone, bare or as `layer_name` reports it.
    assert GradCAM(model, layer="conv_a").layer_name == "pooled_backbone/conv_a"
    np.testing.assert_allclose(GradCAM(model, layer=explainer.layer_name)(test_x, 1), heat)
    with pytest.raises(KerasftError, match="pooled_backbone/conv_b"):
        GradCAM(model, layer="pooled_backbone/conv_c")

    model.save(tmp_path / "m.keras")
    reloaded = GradCAM(keras.models.load_model(tmp_path / "m.keras"))
    assert reloaded.layer_name == explainer.layer_name
    np.testing.assert_allclose(reloaded(test_x, class_index=1), heat, atol=1e-4)


def off_grid(heatmaps, cells):
    """RMS distance of each heatmap from the nearest `cells` x `cells` map upsampled as Grad-CAM
    upsamples (bilinear): ~0 for a heatmap computed from a `cells` x `cells` feature map."""
    import tensorflow as tf

    basis = np.eye(cells * cells, dtype="float32").reshape(-1, cells, cells, 1)
    up = tf.image.resize(basis, heatmaps.shape[1:3], method="bilinear").numpy()
    up = up.reshape(cells * cells, -1).T
    flat = heatmaps.reshape(len(heatmaps), -1).T
    coef, *_ = np.linalg.lstsq(up, flat, rcond=None)
    return np.sqrt(((flat - up @ coef) ** 2).mean(axis=0))


@pytest.fixture(scope="module")
def mobilenet_64(imagenet_mobilenet):
    import kerasft as kft

    keras.utils.set_random_seed(0)
    return kft.build("mobilenet", 3, input_shape=(64, 64, 3), image_size=64)


@pytest.fixture(scope="module")
def photos():
    import tensorflow as tf
    from skimage import data

    images = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket()]
    return np.stack([tf.image.resize(i, (64, 64), antialias=True).numpy() for i in images])


def test_mobilenet_at_64px_explains_an_8x8_map_not_its_2x2_output(mobilenet_64, photos):
    import kerasft as kft

    backbone = kft.get_backbone(mobilenet_64)
    assert backbone.output.shape[1:3] == (2, 2)  # what made the old heatmaps smears
    explainer = GradCAM(mobilenet_64)
    assert explainer.layer_name == f"{backbone.name}/conv_pw_5_relu"
    assert explainer.layer.output.shape[1:3] == (8, 8)
    heat = explainer(photos)
    assert heat.shape == (4, 64, 64)
    assert (heat.reshape(4, -1).std(axis=1) > 0.05).all()  # not constant
    # Real structure: far from any 2 x 2 (and 4 x 4) map upsampled, unlike the backbone output.
    old = GradCAM(mobilenet_64, layer=backbone.name)
    assert old.layer_name == backbone.name
    assert (off_grid(old(photos), 2) < 1e-4).all()  # the measure does detect a 2 x 2 map
    assert (off_grid(heat, 2) > 0.05).all()
    assert (off_grid(heat, 4) > 0.03).all()
    assert GradCAM(mobilenet_64, layer="conv_pw_11_relu").layer.output.shape[1:3] == (4, 4)


def test_evaluation_report_records_the_gradcam_layer(mobilenet_64, photos, tmp_path):
    import json

    import kerasft as kft

    report = kft.evaluate(mobilenet_64, (photos, np.array([0, 1, 2, 0])), out_dir=tmp_path)
    layer = GradCAM(mobilenet_64).layer_name
    assert report["gradcam_layer"] == layer
    assert json.loads((tmp_path / "report.json").read_text())["gradcam_layer"] == layer
    assert f"explain `{layer}`" in (tmp_path / "report.md").read_text()
    assert (tmp_path / "top_losses_gradcam.png").exists()
    no_cam = kft.evaluate(mobilenet_64, (photos, np.array([0, 1, 2, 0])), gradcam=False)
    assert "gradcam_layer" not in no_cam.metrics
