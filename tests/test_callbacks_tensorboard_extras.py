"""TensorBoardExtras writes real event files; these tests read them back and check the values."""

from __future__ import annotations

import glob
import io
import os
from collections import defaultdict

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from kerasft.callbacks.tensorboard_extras import (
    TensorBoardExtras,
    _class_labels,
    augmentation_layers,
    weight_blocks,
)
from kerasft.errors import KerasftError
from kerasft.evaluation import metrics, plots

LR, WD, BATCH, N_TRAIN, N_VAL = 0.01, 0.001, 16, 64, 40


def read_events(run_dir):
    """{"scalars": {tag: [(step, value)]}, "images": {tag: [(step, png)]}, "text": {...}}."""
    out = {"scalars": defaultdict(list), "images": defaultdict(list), "text": defaultdict(list)}
    plugin_of = {}
    for path in sorted(glob.glob(os.path.join(run_dir, "events.out.tfevents.*"))):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.metadata.plugin_data.plugin_name:
                    plugin_of[value.tag] = value.metadata.plugin_data.plugin_name
                plugin = plugin_of.get(value.tag)
                if plugin == "scalars":
                    out["scalars"][value.tag].append(
                        (event.step, float(tf.make_ndarray(value.tensor)))
                    )
                elif plugin == "images":
                    out["images"][value.tag].append((event.step, value.tensor.string_val[2]))
                elif plugin == "text":
                    text = tf.make_ndarray(value.tensor).item().decode()
                    out["text"][value.tag].append((event.step, text))
    return out


def make_data(n, seed):
    """8x8 images whose class (0, 1, 2) is the bright third of the image: learnable in a few steps."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.uniform(0, 0.2, (n, 8, 8, 1)).astype("float32")
    for i, c in enumerate(y):
        x[i, :, c * 3 : c * 3 + 2] += 0.8
    return x, y


def make_model():
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.RandomFlip("vertical", seed=1, name="flip"),
            keras.layers.Rescaling(1.0, name="rescale"),
            keras.layers.Conv2D(4, 3, name="conv"),
            keras.layers.BatchNormalization(name="bn"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(3, activation="softmax", name="dense"),
        ]
    )
    model.compile(keras.optimizers.AdamW(LR, weight_decay=WD), "sparse_categorical_crossentropy")
    return model


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    keras.utils.set_random_seed(0)
    log_dir = tmp_path_factory.mktemp("tb")
    (x, y), (xv, yv) = make_data(N_TRAIN, 0), make_data(N_VAL, 1)
    model = make_model()
    extras = TensorBoardExtras(
        log_dir, validation_data=(xv, yv), class_names=["left", "mid", "right"], sample_images=x[:9]
    )
    model.fit(x, y, batch_size=BATCH, epochs=2, verbose=0, callbacks=[extras])
    return model, extras, read_events(extras.writer_dir), (xv, yv), x[:9]


def test_writes_to_its_own_run_under_log_dir(trained):
    _, extras, events, _, _ = trained
    assert extras.writer_dir == os.path.join(extras.log_dir, "extras")
    assert glob.glob(os.path.join(extras.writer_dir, "events.out.tfevents.*"))


def test_learning_rate_and_weight_decay_every_step(trained):
    _, _, events, _, _ = trained
    lr = events["scalars"]["learning_rate"]
    steps = 2 * N_TRAIN // BATCH
    assert [s for s, _ in lr] == list(range(1, steps + 1))
    assert np.allclose([v for _, v in lr], LR)
    assert np.allclose([v for _, v in events["scalars"]["weight_decay"]], WD)


def test_weight_norms_per_block_match_the_weights(trained):
    model, _, events, _, _ = trained
    scalars = events["scalars"]
    assert {"weight_norm/conv", "weight_norm/bn", "weight_norm/dense"} <= set(scalars)
    assert not any("flip" in t or "flatten" in t for t in scalars)
    dense = model.get_layer("dense")
    expected = np.sqrt(sum(np.sum(np.square(w.numpy())) for w in dense.weights))
    assert [s for s, _ in scalars["weight_norm/dense"]] == [0, 1]
    assert scalars["weight_norm/dense"][-1][1] == pytest.approx(expected, rel=1e-5)
    # BatchNorm's norm covers gamma/beta only, not its moving statistics.
    bn = model.get_layer("bn")
    expected_bn = np.sqrt(np.sum(bn.gamma.numpy() ** 2) + np.sum(bn.beta.numpy() ** 2))
    assert scalars["weight_norm/bn"][-1][1] == pytest.approx(expected_bn, rel=1e-5)


def test_gradient_norms_per_block(trained):
    _, _, events, _, _ = trained
    scalars = events["scalars"]
    blocks = [scalars[f"grad_norm/{b}"] for b in ("conv", "bn", "dense")]
    total = scalars["grad_norm/global"]
    assert [s for s, _ in total] == [0, 1]
    for epoch in (0, 1):
        parts = [b[epoch][1] for b in blocks]
        assert all(p > 0 for p in parts)
        # Block norms are a partition of the global norm.
        assert np.sqrt(sum(p**2 for p in parts)) == pytest.approx(total[epoch][1], rel=1e-4)


def test_trainable_param_count_logged_once_without_changes(trained):
    model, _, events, _, _ = trained
    count = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert events["scalars"]["trainable_params"] == [(0, count)]
    assert "conv" in events["text"]["trainable_blocks"][0][1]


def test_confusion_matrix_each_epoch(trained):
    model, extras, events, (xv, yv), _ = trained
    cm_images = events["images"]["confusion_matrix"]
    assert [s for s, _ in cm_images] == [0, 1]
    picture = np.asarray(Image.open(io.BytesIO(cm_images[-1][1])))
    assert picture.ndim == 3 and min(picture.shape[:2]) > 100
    predicted = model.predict(xv, verbose=0).argmax(-1)
    expected = metrics.confusion_matrix(yv, predicted, 3)
    np.testing.assert_array_equal(extras.confusion_matrix, expected)
    assert extras.confusion_matrix.sum() == N_VAL


def test_sample_grids_show_augmentation(trained):
    model, _, events, _, samples = trained
    assert [layer.name for layer in augmentation_layers(model)] == ["flip"]
    ((step, raw),) = events["images"]["samples"]
    ((_, augmented),) = events["images"]["augmented_samples"]
    raw, augmented = (np.asarray(Image.open(io.BytesIO(p)).convert("L")) for p in (raw, augmented))
    # 9 images of 8x8 in a 3x3 grid with 2-pixel padding.
    assert step == 0 and raw.shape[:2] == (3 * 10 + 2, 3 * 10 + 2)
    expected = np.round(plots.image_grid(samples)[..., 0] * 255)
    assert np.abs(raw.astype(float) - expected).max() <= 1
    assert raw.shape == augmented.shape and not np.array_equal(raw, augmented)


def test_unfreezing_between_two_fits_is_dated(tmp_path):
    keras.utils.set_random_seed(1)
    (x, y), (xv, yv) = make_data(32, 0), make_data(16, 1)
    model = make_model()
    val = tf.data.Dataset.from_tensor_slices((xv, yv)).batch(8)
    extras = TensorBoardExtras(tmp_path, validation_data=val, update_freq=2, run_name=None)
    model.get_layer("conv").trainable = False
    model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[extras])
    frozen = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    model.get_layer("conv").trainable = True
    model.compile(keras.optimizers.SGD(0.01), "sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=8, epochs=3, initial_epoch=2, verbose=0, callbacks=[extras])
    extras.close()
    full = sum(int(np.prod(w.shape)) for w in model.trainable_weights)

    events = read_events(tmp_path)
    scalars = events["scalars"]
    assert scalars["trainable_params"] == [(0, frozen), (2, full)] and full > frozen
    assert "conv" not in events["text"]["trainable_blocks"][0][1]
    assert "conv" in events["text"]["trainable_blocks"][1][1]
    # Gradients reach the conv block only once it is trainable.
    assert [s for s, _ in scalars["grad_norm/conv"]] == [2]
    assert [s for s, _ in scalars["grad_norm/dense"]] == [0, 1, 2]
    # One step counter over both fits (every 2nd of 2x4 + 4 steps), with each fit's learning rate.
    lr = scalars["learning_rate"]
    assert [s for s, _ in lr] == [2, 4, 6, 8, 10, 12]
    assert [v for _, v in lr] == pytest.approx([0.1, 0.1, 0.1, 0.1, 0.01, 0.01])
    assert "weight_decay" not in scalars  # SGD has none
    assert extras.confusion_matrix.sum() == 16


def test_weight_blocks_use_the_backbone_block_map():
    backbone = keras.applications.MobileNet(
        input_shape=(32, 32, 3), alpha=0.25, include_top=False, weights=None
    )
    inputs = keras.Input((32, 32, 3))
    features = keras.layers.GlobalAveragePooling2D()(backbone(inputs))
    model = keras.Model(inputs, keras.layers.Dense(2, name="head")(features))
    blocks = weight_blocks(model)
    names = list(blocks)
    assert names[-1] == "head"
    assert "block_1" in names and "block_13" in names
    assert names.index("block_1") < names.index("block_13")
    assert any(layer.name == "conv_dw_5" for layer in blocks["block_5"])


def test_class_labels_for_each_task():
    probs = np.array([[0.1, 0.9], [0.8, 0.2]])
    t, p, n = _class_labels(np.array([[0, 1], [0, 1]]), probs)  # one-hot labels
    assert (t.tolist(), p.tolist(), n) == ([1, 1], [1, 0], 2)
    t, p, n = _class_labels(np.array([1, 0, 1]), np.array([[0.7], [0.2], [0.4]]))  # sigmoid
    assert (p.tolist(), n) == ([1, 0, 0], 2)
    _, p, _ = _class_labels(np.array([1, 0]), np.array([[2.0], [-0.5]]))  # logits
    assert p.tolist() == [1, 0]
    assert "multi-label" in _class_labels(np.array([[1, 1], [0, 1]]), probs)
    assert "regression" in _class_labels(np.array([0.3, 1.7]), np.array([0.2, 1.5]))


def test_bad_arguments_fail_before_training(tmp_path):
    with pytest.raises(KerasftError, match="update_freq"):
        TensorBoardExtras(tmp_path, update_freq=0)
    with pytest.raises(KerasftError, match="validation_data"):
        TensorBoardExtras(tmp_path, validation_data=np.zeros((4, 8, 8, 1)))
    x, y = make_data(8, 0)
    model = make_model()
    extras = TensorBoardExtras(tmp_path, validation_data=(x, y), class_names=["a", "b"])
    with pytest.raises(KerasftError, match="class_names has 2 names but the model predicts 3"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[extras])
    with pytest.raises(KerasftError, match=r"sample_images must be a batch of images.*\(4, 64\)"):
        TensorBoardExtras(tmp_path, sample_images=np.zeros((4, 64)))
    # A dataset's first batch is checked when training starts, before the first step.
    flat = tf.data.Dataset.from_tensor_slices(np.zeros((4, 64))).batch(4)
    extras = TensorBoardExtras(tmp_path, sample_images=flat)
    with pytest.raises(KerasftError, match="sample_images must be a batch of images"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[extras])
    assert model.optimizer.iterations.numpy() == 0


def test_over_both_phases_of_kft_fine_tune(tmp_path):
    import kerasft as kft
    from kerasft.callbacks import ProgressBar

    keras.utils.set_random_seed(2)
    backbone = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(4, 3, name="conv_a"),
            keras.layers.Conv2D(4, 3, name="conv_b"),
            keras.layers.Conv2D(4, 2, name="conv_c"),
        ],
        name="tiny_backbone",
    )
    inputs = keras.Input((8, 8, 1))
    features = keras.layers.GlobalAveragePooling2D()(backbone(inputs))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax", name="head")(features))
    (x, y), (xv, yv) = make_data(48, 0), make_data(16, 1)
    extras = TensorBoardExtras(tmp_path, validation_data=(xv, yv))
    out = io.StringIO()
    bar = ProgressBar(file=out, mininterval=0)
    kft.fine_tune(
        model,
        (x, y),
        (xv, yv),
        epochs=(2, 1),
        unfreeze_blocks=1,
        batch_size=16,
        verbose=0,
        callbacks=[extras, bar],
    )
    extras.close()
    scalars = read_events(extras.writer_dir)["scalars"]
    assert scalars["phase"] == [(0, 1.0), (2, 2.0)]
    (start, before), (when, after) = scalars["trainable_params"]
    assert (start, when) == (0, 2) and after > before
    # The backbone's blocks come from its block map; only the unfrozen top one gets gradients,
    # and only in phase 2. fine_tune's one-hot labels vs. the integer validation labels are fine.
    assert {"weight_norm/block_1", "weight_norm/block_3"} <= set(scalars)
    assert [s for s, _ in scalars["grad_norm/block_3"]] == [2]
    assert "grad_norm/block_1" not in scalars
    assert len({v for _, v in scalars["weight_norm/block_1"]}) == 1  # frozen throughout
    # One progress bar over both phases: 3 epochs of 3 steps.
    assert bar.steps_done == 9 and bar.total_steps is None
    final = [p for p in out.getvalue().replace("\r", "\n").splitlines() if p.strip()][-1]
    assert "9/9" in final and "phase 2 epoch 3/3" in final
    assert out.getvalue().count("| 0/") == 1  # drawn empty once, never restarted from zero
