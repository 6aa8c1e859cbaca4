"""Text models on a tiny random BERT preset: build, blocks, freezing, save, cut and cache."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from text_fixtures import tiny_preset

import kerasft as kft
from kerasft.cache import CachedRunner, ModelCut
from kerasft.errors import KerasftError

TOPICS = [
    ["market", "shares", "bank", "profit", "economy", "growth"],
    ["film", "music", "star", "award", "actor", "show"],
    ["team", "win", "player", "cup", "goal", "match"],
]


def topic_texts(n: int, seed: int = 0):
    """Short texts whose class is the topic their words come from."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    fillers = ["the", "a", "of", "to", "in", "and"]
    x = [" ".join(rng.permutation([*rng.choice(TOPICS[k], 4), *rng.choice(fillers, 3)])) for k in y]
    return np.array(x, dtype=object), y


@pytest.fixture(scope="module")
def preset(tmp_path_factory):
    return tiny_preset(tmp_path_factory.mktemp("tiny_bert"), num_layers=3)


def make(preset, **kw):
    keras.utils.set_random_seed(0)
    kw.setdefault("sequence_length", 16)
    return kft.build(str(preset), 3, **kw)


def test_build_takes_strings_and_names_blocks(preset):
    model = make(preset)
    assert model.input.dtype == "string"
    assert model.output_shape == (None, 3)
    encoder = kft.get_backbone(model)
    assert list(kft.backbones.block_map(encoder)) == [
        "embeddings",
        "transformer_layer_0",
        "transformer_layer_1",
        "transformer_layer_2",
    ]
    x, _ = topic_texts(4)
    probs = model.predict(x, verbose=0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    # A lone string list works too, and the tokenizer packs [CLS] ... [SEP] [PAD]...
    ids = model.get_layer("kft_tokenizer")(np.array(["market"], dtype=object)).numpy()[0]
    vocab = model.get_layer("kft_tokenizer").tokenizer.get_vocabulary()
    assert [vocab[i] for i in ids[:3]] == ["[CLS]", "market", "[SEP]"]
    assert set(ids[3:]) == {0}


def test_sequence_length_comes_from_the_texts(preset):
    short = np.array(["a cat"] * 50 + ["the market " * 20], dtype=object)
    model = kft.build(str(preset), 2, task="binary", texts=short)
    # 95th percentile of 4 tokens (2 words + [CLS]/[SEP]) -> the floor of 16.
    assert model.get_layer("kft_tokenizer").sequence_length == 16
    long = np.array(["the market shares " * 12] * 10, dtype=object)
    model = kft.build(str(preset), 2, task="binary", texts=long)
    # 36 words + 2 = 38 tokens, rounded up to 40; the tiny preset allows 64.
    assert model.get_layer("kft_tokenizer").sequence_length == 40
    assert model.output_shape == (None, 1)


def test_unfreeze_blocks_and_layer_norms_follow_train_bn(preset):
    model = make(preset)
    assert kft.trainable_blocks(model) == []
    assert kft.unfreeze(model, blocks=2) == ["transformer_layer_1", "transformer_layer_2"]
    layer = kft.get_backbone(model).get_layer("transformer_layer_2")
    trainable = {w.path.split("/")[-2] + "/" + w.name for w in layer.trainable_weights}
    assert not any("layer_norm" in name for name in trainable)  # train_bn=False
    assert any("query" in name for name in trainable)
    rows = {r["block"]: r for r in kft.summary(model, print_fn=lambda line: None)}
    assert rows["transformer_layer_0"]["trainable"] == 0
    assert rows["transformer_layer_2"]["trainable"] > 0
    kft.freeze(model)
    kft.unfreeze(model, blocks=1, train_bn=True)
    layer = kft.get_backbone(model).get_layer("transformer_layer_2")
    assert any("layer_norm" in w.path for w in layer.trainable_weights)
    assert kft.trainable_blocks(model) == ["transformer_layer_2"]


def test_saved_text_model_reloads_and_predicts_from_strings(preset, tmp_path):
    model = make(preset)
    x, _ = topic_texts(6)
    path = tmp_path / "text.keras"
    model.save(path)
    again = keras.models.load_model(path)
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    assert again.get_layer("kft_tokenizer").sequence_length == 16


def test_cut_caches_hidden_states_with_the_padding_mask(preset):
    model = make(preset)
    x, _ = topic_texts(5)
    cut = ModelCut(model, after_block="transformer_layer_0")
    assert cut.feature_shape == (16, 17)  # hidden 16 + the mask channel
    features = cut.prefix.predict(x, verbose=0)
    lengths = [len(t.split()) + 2 for t in x]
    np.testing.assert_array_equal(features[:, :, -1].sum(axis=1), lengths)
    np.testing.assert_allclose(
        cut.suffix.predict(features, verbose=0), model.predict(x, verbose=0), atol=1e-6
    )
    top = ModelCut(model)
    assert top.feature_shape == (16,)
    np.testing.assert_allclose(
        cut.to(top).predict(features, verbose=0), top.prefix.predict(x, verbose=0), atol=1e-6
    )


def _train(preset, cached: bool, epochs=(2, 2)):
    x, y = topic_texts(60)
    xv, yv = topic_texts(24, seed=1)
    model = make(preset, dropout=0.0)
    runner = CachedRunner("memory", dtype="float32", verbose=0) if cached else "off"
    history = kft.fine_tune(
        model,
        (x, y),
        (xv, yv),
        epochs=epochs,
        batch_size=12,
        lr=3e-2,
        ft_lr=1e-2,
        unfreeze_blocks=2,
        cache=runner,
        verbose=0,
    )
    return model, history, runner


def test_cached_text_phases_equal_the_plain_fit(preset):
    plain, h_plain, _ = _train(preset, cached=False)
    cached, h_cached, runner = _train(preset, cached=True)
    assert runner.report == {
        1: "cached at backbone (16,)",
        2: "cached at transformer_layer_0 (16, 17)",
    }
    assert h_plain.history["loss"][-1] < h_plain.history["loss"][0] - 0.05  # it learns
    np.testing.assert_allclose(h_cached.history["loss"], h_plain.history["loss"], rtol=1e-4)
    diffs = [float(np.abs(a - b).max()) for a, b in zip(plain.get_weights(), cached.get_weights())]
    assert max(diffs) < 1e-4
    # Phase 2 trained the top layers (through the shared layers of the full model).
    untouched = make(preset, dropout=0.0)
    kernel = lambda m: kft.get_backbone(m).get_layer("transformer_layer_2").weights[0].numpy()  # noqa: E731
    assert np.abs(kernel(cached) - kernel(untouched)).max() > 1e-4
    low = lambda m: kft.get_backbone(m).get_layer("transformer_layer_0").weights[0].numpy()  # noqa: E731
    np.testing.assert_array_equal(low(cached), low(untouched))


def test_text_errors_name_the_fix(preset, tmp_path, monkeypatch):
    with pytest.raises(KerasftError, match="never downloads"):
        kft.build("bert_base_en", 3)
    monkeypatch.setenv("KERASFT_WEIGHTS", str(tmp_path))
    with pytest.raises(KerasftError, match="kerasft weights import minilm"):
        kft.build("minilm", 3)
    (tmp_path / "empty").mkdir()
    with pytest.raises(KerasftError, match="without config.json"):
        kft.build(str(tmp_path / "empty"), 3)
    with pytest.raises(KerasftError, match="sequence_length=1000"):
        kft.build(str(preset), 3, sequence_length=1000)
    with pytest.raises(KerasftError, match="text backbone"):
        kft.build(str(preset), 3, augmentation="light")
    model = make(preset)
    with pytest.raises(KerasftError, match="not a string"):
        kft.fine_tune(model, (np.array(["a", 3.0], dtype=object), np.array([0, 1])), verbose=0)


def test_text_model_exports_a_savedmodel_that_takes_strings(preset, tmp_path):
    import tensorflow as tf

    model = make(preset)
    x, _ = topic_texts(4)
    exported = kft.export(model, tmp_path / "sm")
    assert exported.input_shape == (None,)
    reloaded = tf.saved_model.load(str(tmp_path / "sm"))  # its variables live as long as it
    served = reloaded.serve(tf.constant(list(x)))
    np.testing.assert_allclose(served.numpy(), model.predict(x, verbose=0), atol=1e-5)
    with pytest.raises(KerasftError, match="SavedModel"):
        kft.export(model, tmp_path / "m.tflite", format="tflite")


def test_predict_takes_texts_not_paths(preset, tmp_path):
    model = make(preset)
    x, _ = topic_texts(3)
    expected = model.predict(x, verbose=0)
    np.testing.assert_allclose(kft.predict(model, list(x)), expected, atol=1e-6)
    np.testing.assert_allclose(kft.predict(model, str(x[0])), expected[:1], atol=1e-6)
    path = tmp_path / "text.keras"
    model.save(path)
    np.testing.assert_allclose(kft.predict(str(path), list(x)), expected, atol=1e-6)
