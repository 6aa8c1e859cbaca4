"""Model cuts on real DAG backbones, augmentation handling, and callbacks on the full model."""

from __future__ import annotations

import keras
import numpy as np
from test_cache_equivalence import learnable_data, make_model, tiny_backbone

import kerasft as kft
from kerasft.cache import CachedRunner, ModelCut


def test_cut_inside_residual_backbone_shares_layers():
    model = kft.build("mobilenet_v2", 3, input_shape=(32, 32, 3), image_size=32, weights=None)
    cut = ModelCut(model, after_block="block_14")  # block_15 adds a skip around itself
    x = np.random.default_rng(0).integers(0, 255, (2, 32, 32, 3)).astype("float32")
    features = cut.prefix.predict(x, verbose=0)
    assert features.shape[1:] == cut.feature_shape == (1, 1, 160)
    np.testing.assert_allclose(
        cut.suffix.predict(features, verbose=0), model.predict(x, verbose=0), atol=1e-5
    )
    # The suffix owns the very variables of the model's top blocks and head.
    model_ids = {id(v) for v in model.weights}
    assert all(id(v) in model_ids for v in cut.suffix.weights)
    kft.unfreeze(model, blocks=3)  # block_15, block_16, top
    assert ModelCut(model, after_block="block_14").prefix_variables() == []
    assert len(ModelCut(model, after_block="block_13").prefix_variables()) == 0
    assert len(ModelCut(model, after_block="block_16").prefix_variables()) > 0


def test_augmentation_disables_cache_or_caches_views(capsys):
    x, y = learnable_data(32)
    flip = [keras.layers.RandomFlip("horizontal_and_vertical", seed=1)]
    keras.utils.set_random_seed(0)
    model = kft.build(
        tiny_backbone(), 3, input_shape=(16, 16, 3), augmentation=flip, preprocessing="tf"
    )
    assert not ModelCut(model).is_deterministic(x[:4])
    kft.fine_tune(
        model,
        (x, y),
        epochs=(1, 0),
        batch_size=16,
        verbose=0,
        cache=CachedRunner("memory", verbose=1),
        unfreeze_blocks=2,
    )
    assert "random augmentation runs before the backbone" in capsys.readouterr().out

    model = kft.build(
        tiny_backbone(), 3, input_shape=(16, 16, 3), augmentation=flip, preprocessing="tf"
    )
    fns = CachedRunner("memory", views=3, batch_size=16, verbose=1)
    history = kft.fine_tune(
        model, (x, y), epochs=(2, 1), batch_size=16, verbose=0, cache=fns, unfreeze_blocks=2
    )
    out = capsys.readouterr().out
    assert "computed 32 rows of block2 features" in out and len(history.epoch) == 3
    cut = ModelCut(model)
    from kerasft.cache import FeatureCache

    rows = FeatureCache(cut, "memory", views=3, verbose=0).features(x[:4])
    views = rows.array().astype("float32")
    assert views.shape == (4, 3, 32)
    assert not np.allclose(views[:, 0], views[:, 1])  # three different random views


def test_callbacks_see_the_full_model(tmp_path):
    x, y = learnable_data(48)
    model = make_model()
    seen = []
    probe = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append((probe.model is model, sorted(logs)))
    )
    path = tmp_path / "best.keras"
    checkpoint = keras.callbacks.ModelCheckpoint(path, monitor="loss")
    kft.fine_tune(
        model,
        (x, y),
        epochs=(1, 1),
        batch_size=16,
        verbose=0,
        callbacks=[probe, checkpoint],
        cache=CachedRunner("memory", batch_size=16, verbose=0),
        unfreeze_blocks=2,
    )
    # The phase-2 cosine (fine_tune's default) logs its rate in both phases.
    assert seen == [(True, ["accuracy", "learning_rate", "loss"])] * 2
    saved = keras.models.load_model(path)
    assert saved.input_shape == (None, 16, 16, 3)  # raw images, not features
    np.testing.assert_allclose(
        saved.predict(x[:4], verbose=0), model.predict(x[:4], verbose=0), atol=1e-5
    )


def test_early_stopping_stops_the_cached_run():
    x, y = learnable_data(32)
    model = make_model()
    stop = keras.callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=10.0)
    history = kft.fine_tune(
        model,
        (x, y),
        epochs=(5, 0),
        batch_size=16,
        verbose=0,
        callbacks=[stop],
        cache=CachedRunner("memory", batch_size=16, verbose=0),
        unfreeze_blocks=2,
    )
    assert len(history.epoch) == 2


def test_dataset_input_is_cached_with_fine_tune_targets(capsys):
    import tensorflow as tf

    from kerasft.cache.store import _MEMORY

    _MEMORY.clear()  # other tests cached the same seeded data and model in this process
    x, y = learnable_data(48)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    plain = make_model()
    h_plain = kft.fine_tune(plain, ds, ds, epochs=(2, 0), verbose=0, cache="off")
    model = make_model()
    history = kft.fine_tune(
        model,
        ds,
        ds,
        epochs=(2, 0),
        verbose=0,
        cache=CachedRunner("memory", verbose=1),
        unfreeze_blocks=2,
    )
    assert "computed 48 rows" in capsys.readouterr().out
    # Integer labels became the one-hot targets the loss expects (the cached run reshuffles
    # the collected rows each epoch, so batches, and losses, differ slightly).
    np.testing.assert_allclose(history.history["loss"], h_plain.history["loss"], atol=2e-3)
    assert history.history["loss"][1] < history.history["loss"][0]
