"""LoRA: only adapters and the head train, adapters save alone, the merged model is plain."""

from __future__ import annotations

import json
import zipfile

import h5py
import keras
import numpy as np
import pytest
import yaml
from test_text import topic_texts
from text_fixtures import tiny_preset

import kerasft as kft
from kerasft.cache import CachedRunner, FeatureCache, ModelCut
from kerasft.cli.main import main
from kerasft.errors import KerasftError
from kerasft.lora import adapters, lora_layers

AB = ("lora_kernel_a", "lora_kernel_b")


@pytest.fixture(scope="module")
def preset(tmp_path_factory):
    return tiny_preset(tmp_path_factory.mktemp("tiny_bert_lora"), num_layers=3)


def text_model(preset, **kw):
    keras.utils.set_random_seed(0)
    kw.setdefault("sequence_length", 16)
    return kft.build(str(preset), 3, dropout=0.0, **kw)


@pytest.fixture(scope="module")
def photos(fashion_mnist, imagenet_mobilenet):
    """Real Fashion-MNIST images of 3 classes (a random MobileNet's features vanish: its
    frozen BatchNorm never saw data), train and validation."""
    (x, y), _, _ = fashion_mnist
    keep = np.isin(y, (0, 1, 7))
    x, y = x[keep], np.searchsorted([0, 1, 7], y[keep])
    return (x[:48], y[:48]), (x[48:64], y[48:64])


def image_model(**kw):
    keras.utils.set_random_seed(0)
    return kft.build("mobilenet", 3, input_shape=(28, 28), image_size=32, dropout=0.0, **kw)


def snapshot(model) -> dict[str, np.ndarray]:
    values = {v.path: v.numpy().copy() for v in model.weights}
    assert len(values) == len(model.weights)  # paths identify every variable
    return values


def changed(before: dict, model) -> set[str]:
    return {v.path for v in model.weights if not np.array_equal(before[v.path], v.numpy())}


def randomize(variables, seed=1):
    rng = np.random.default_rng(seed)
    for v in variables:
        v.assign(rng.normal(0, 0.1, v.shape).astype("float32"))


TEXT_TOP_ADAPTERS = {
    f"transformer_layer_{i}/self_attention_layer/{proj}/{ab}"
    for i in (1, 2)
    for proj in ("query", "value")
    for ab in AB
}
HEAD = {"kft_head_output/kernel", "kft_head_output/bias"}


def _fine_tune(model, data, val, cached: bool, **kw):
    runner = CachedRunner("memory", dtype="float32", verbose=0) if cached else "off"
    history = kft.fine_tune(
        model, data, val, lr=3e-2, ft_lr=1e-2, unfreeze_blocks=2, cache=runner, verbose=0, **kw
    )
    return history, runner


def test_text_lora_fine_tune_changes_only_the_top_adapters_and_the_head(preset):
    x, y = topic_texts(60)
    xv, yv = topic_texts(24, seed=1)
    results = {}
    for cached in (False, True):
        model = text_model(preset, lora_rank=2)
        before = snapshot(model)
        history, runner = _fine_tune(
            model, (x, y), (xv, yv), cached, epochs=(2, 2), batch_size=12, lora_rank=2
        )
        assert changed(before, model) == TEXT_TOP_ADAPTERS | HEAD, f"cached={cached}"
        # Six adapted projections (q, v in each of 3 layers); the lowest layer's stay zero.
        assert len(lora_layers(model)) == 6
        low = kft.get_backbone(model).get_layer("transformer_layer_0")
        assert all(not np.any(v.numpy()) for v in low.weights if v.path.endswith("lora_kernel_b"))
        results[cached] = (model, history, runner)
    _, _, runner = results[True]
    # The frozen prefix still caches: phase 2 trains only above transformer_layer_0.
    assert runner.report == {
        1: "cached at backbone (16,)",
        2: "cached at transformer_layer_0 (16, 17)",
    }
    (plain, h_plain, _), (cached, h_cached, _) = results[False], results[True]
    np.testing.assert_allclose(h_cached.history["loss"], h_plain.history["loss"], rtol=1e-4)
    for a, b in zip(plain.weights, cached.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-4, err_msg=a.path)


def test_unfreeze_with_lora_trains_adapters_alone_and_says_so(preset):
    model = text_model(preset, lora_rank=2)
    assert {v.path for v in model.trainable_weights} == HEAD  # phase-1 state: adapters frozen
    assert kft.unfreeze(model, blocks=2, train_bn=True) == [
        "transformer_layer_1",
        "transformer_layer_2",
    ]
    assert {v.path for v in model.trainable_weights} == TEXT_TOP_ADAPTERS | HEAD
    rows = {r["block"]: r for r in kft.summary(model, print_fn=lambda line: None)}
    # Rank 2 on a (16 -> 2 heads x 8) projection: a (16, 2, 2), b (2, 8): 80 per projection.
    assert rows["transformer_layer_2"]["trainable"] == 2 * (16 * 2 * 2 + 2 * 8)
    assert rows["transformer_layer_0"]["trainable"] == 0
    # lora=False trains the blocks whole, kernels and adapters alike.
    kft.unfreeze(model, blocks=1, lora=False)
    paths = {v.path for v in model.trainable_weights}
    assert "transformer_layer_2/self_attention_layer/query/kernel" in paths
    assert "transformer_layer_2/self_attention_layer/query/lora_kernel_a" in paths


def test_image_lora_fine_tune_changes_only_the_top_adapters_and_the_head(photos):
    (x, y), (xv, yv) = photos
    expected = {f"conv_pw_{i}/{ab}" for i in (12, 13) for ab in AB} | HEAD
    for cached in (False, True):
        model = image_model(lora_rank=2)
        before = snapshot(model)
        _, runner = _fine_tune(
            model, (x, y), (xv, yv), cached, epochs=(1, 2), batch_size=16, lora_rank=2
        )
        # Depthwise convs have no LoRA: blocks 12 and 13 train their pointwise adapters alone
        # (no kernel, no bias, no BatchNorm statistic or gamma/beta).
        assert changed(before, model) == expected, f"cached={cached}"
        if cached:
            assert runner.report[2].startswith("cached at block_11")
    # The stem and every pointwise conv carry adapters, and nothing else does.
    names = sorted(layer.name for layer in lora_layers(model))
    assert names == sorted(["conv1", *(f"conv_pw_{i}" for i in range(1, 14))])


def test_the_cache_key_follows_the_adapters(preset):
    model = text_model(preset)
    cut = lambda: ModelCut(model, after_block="transformer_layer_1")  # noqa: E731
    plain_key = FeatureCache(cut(), "memory", verbose=0).key()
    kft.enable_lora(model, 2)
    cache = FeatureCache(cut(), "memory", verbose=0)
    lora_key = cache.key()
    assert lora_key["weights"] != plain_key["weights"]  # the adapters are part of the prefix
    x, _ = topic_texts(4)
    features = cut().prefix.predict(x, verbose=0)
    layer = [
        layer for layer in lora_layers(model) if layer.path.startswith("transformer_layer_0/")
    ][0]
    randomize([layer.lora_kernel_b])
    assert cache.key()["weights"] != lora_key["weights"]  # stale features are never reused
    assert np.abs(cut().prefix.predict(x, verbose=0) - features).max() > 1e-4


def test_adapters_round_trip_into_a_fresh_model(preset, tmp_path):
    model = text_model(preset, lora_rank=2)
    randomize([v for layer in lora_layers(model) for v in adapters(layer)])
    randomize(model.get_layer("kft_head_output").weights, seed=2)
    x, _ = topic_texts(6)
    path = kft.save_adapters(model, tmp_path / "adapters.weights.h5")
    with h5py.File(path) as f:
        assert f.attrs["rank"] == 2 and list(f.attrs["targets"]) == ["query", "value"]
        stored = {group: {k.replace("|", "/") for k in f[group]} for group in f}
    expected = {
        f"transformer_layer_{i}/self_attention_layer/{p}/{ab}"
        for i in range(3)
        for p in ("query", "value")
        for ab in AB
    }
    assert stored == {"adapters": expected, "head": HEAD}  # nothing of the base model
    fresh = text_model(preset)
    assert not lora_layers(fresh)
    kft.load_adapters(fresh, path)  # enables LoRA with the file's rank and targets
    assert len(lora_layers(fresh)) == 6
    np.testing.assert_allclose(fresh.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    assert (
        np.abs(text_model(preset).predict(x, verbose=0) - model.predict(x, verbose=0)).max() > 1e-3
    )


@pytest.mark.parametrize("modality", ["text", "image"])
def test_merge_lora_gives_a_plain_model_that_reloads_with_plain_keras(
    modality, preset, photos, tmp_path
):
    if modality == "text":
        model, (x, _) = text_model(preset, lora_rank=2), topic_texts(6)
    else:
        model, x = image_model(lora_rank=2), photos[1][0][:6]
    randomize([v for layer in lora_layers(model) for v in adapters(layer)])
    merged = kft.merge_lora(model)
    assert "lora_rank" not in json.dumps(merged.get_config())
    assert not lora_layers(merged) and lora_layers(model)  # the original keeps its adapters
    expected = model.predict(x, verbose=0)
    np.testing.assert_allclose(merged.predict(x, verbose=0), expected, atol=1e-5)
    # The adapters moved into the kernels: the merged query kernel is not the base one.
    name = "query" if modality == "text" else "conv_pw_13"
    base = [v for v in model.weights if v.path.endswith(f"{name}/kernel")][0]
    new = [v for v in merged.weights if v.path.endswith(f"{name}/kernel")][0]
    assert np.abs(base.numpy() - new.numpy()).max() > 1e-3
    path = tmp_path / "merged.keras"
    merged.save(path)
    with zipfile.ZipFile(path) as archive:
        assert "lora_rank" not in archive.read("config.json").decode()
    again = keras.models.load_model(path)
    np.testing.assert_allclose(again.predict(x, verbose=0), expected, atol=1e-5)
    if modality == "image":
        out = kft.export(path, tmp_path / "served", format="savedmodel")
        assert (out.path / "saved_model.pb").is_file()


def test_fit_yaml_lora_rank_saves_adapters_and_a_plain_model(tmp_path, fashion_mnist, capsys):
    from own_images import write_images

    root = tmp_path / "photos"
    write_images(root, fashion_mnist, per_class=12)
    config = tmp_path / "job.yaml"
    config.write_text(
        yaml.safe_dump(
            {"weights": None, "lora_rank": 2, "unfreeze_blocks": 2, "batch_size": 8, "verbose": 0}
        )
    )
    run_dir = tmp_path / "run"
    code = main(
        ["fit", "--config", str(config), "--data", str(root), "--image-size", "32",
         "--epochs", "1", "1", "--run-dir", str(run_dir)]
    )  # fmt: skip
    assert code == 0
    metrics = json.loads((run_dir / "metrics.json").read_text())
    adapter_file = run_dir / "adapters.weights.h5"
    lora = metrics["lora"]
    assert lora["rank"] == 2 and lora["layers"] == 14
    assert lora["file"] == "adapters.weights.h5"
    assert lora["file_bytes"] == adapter_file.stat().st_size
    # conv1 (3x3x3) and conv_pw_1..13 (1x1xC_in), each a: (..., C_in, 2), b: (2, C_out).
    channels = [32, 64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024]
    filters = [*channels[1:], 1024]
    expected = 27 * 2 + 2 * 32 + sum(c * 2 + 2 * f for c, f in zip(channels, filters))
    assert lora["adapter_parameters"] == expected
    with zipfile.ZipFile(run_dir / "model.keras") as archive:
        assert "lora_rank" not in archive.read("config.json").decode()
    assert "LoRA rank 2 on 14 layers" in capsys.readouterr().out
    # The run's model.keras is plain: it exports like any other.
    assert main(["export", str(run_dir), "--out", str(tmp_path / "served")]) == 0
    assert (tmp_path / "served" / "saved_model.pb").is_file()
    # `--set lora_rank=...` is range-checked before any work.
    assert main(["fit", "--data", str(root), "--set", "lora_rank=-1"]) == 2
    assert "'lora_rank' = -1 is out of range" in capsys.readouterr().err


def test_lora_errors_name_the_value_and_the_fix(preset, tmp_path):
    model = text_model(preset)
    for bad in (0, -2, 2.5, True, "4"):
        with pytest.raises(KerasftError, match=rf"rank={bad!r}.*positive integer"):
            kft.enable_lora(model, bad)
    with pytest.raises(KerasftError, match="no LoRA-capable layer named 'qury'.*'query'"):
        kft.enable_lora(model, 2, targets=["qury"])
    no_targets = keras.Sequential(
        [keras.Input((8, 8, 3)), keras.layers.DepthwiseConv2D(3), keras.layers.Flatten()]
    )
    with pytest.raises(KerasftError, match="no layer LoRA can go on.*targets="):
        kft.enable_lora(no_targets, 4)
    with pytest.raises(KerasftError, match="no LoRA adapters.*enable_lora"):
        kft.save_adapters(model, tmp_path / "a.h5")
    with pytest.raises(KerasftError, match="no LoRA adapters.*plain already"):
        kft.merge_lora(model)
    with pytest.raises(KerasftError, match="lora=True.*enable_lora"):
        kft.unfreeze(model, blocks=1, lora=True)
    kft.enable_lora(model, 2)
    with pytest.raises(KerasftError, match="already has LoRA adapters of rank 2"):
        kft.enable_lora(model, 4)
    path = kft.save_adapters(model, tmp_path / "a.weights.h5")
    keras.utils.set_random_seed(0)
    four = kft.build(str(preset), 4, sequence_length=16)  # another head
    with pytest.raises(KerasftError, match=r"does not fit this model's head \(shapes differ"):
        kft.load_adapters(four, path)
    with pytest.raises(KerasftError, match="rank-2 adapters, the model has rank 4"):
        kft.load_adapters(text_model(preset, lora_rank=4), path)
    with pytest.raises(KerasftError, match="was saved from backbone .* does not fit"):
        kft.load_adapters(image_model(), path)
    model.save_weights(tmp_path / "whole.weights.h5")
    with pytest.raises(KerasftError, match="not a kerasft adapters file"):
        kft.load_adapters(model, tmp_path / "whole.weights.h5")
    with pytest.raises(KerasftError, match="lora_rank"):
        from kerasft import config

        config.validate({"lora_rank": 2.5})


def test_real_minilm_rank_4_adapters(tmp_path):
    keras.utils.set_random_seed(0)
    model = kft.build("minilm", 5, sequence_length=32, lora_rank=4)
    layers = lora_layers(model)
    assert len(layers) == 12  # query and value in each of the 6 layers
    # Keras's EinsumDense LoRA: a spans the kernel's all but last axis (384 x 12 heads),
    # b the last (32 per head): 384*12*4 + 4*32 = 18,560 per projection.
    count = sum(int(np.prod(v.shape)) for layer in layers for v in adapters(layer))
    assert count == 6 * 2 * (384 * 12 * 4 + 4 * 32) == 222_720
    path = kft.save_adapters(model, tmp_path / "minilm.weights.h5")
    # float32 adapters (891 kB) and the head (384 x 5 + 5), against 90 MB for the model.
    assert 0.89e6 < path.stat().st_size < 0.95e6, path.stat().st_size  # 919,828 measured
    x, y = topic_texts(16)
    before = snapshot(model)
    kft.fine_tune(
        model, (x, y), epochs=(0, 1), ft_lr=1e-3, unfreeze_blocks=2, batch_size=8,
        cache="off", verbose=0,
    )  # fmt: skip
    top = {
        f"transformer_layer_{i}/self_attention_layer/{p}/{ab}"
        for i in (4, 5)
        for p in ("query", "value")
        for ab in AB
    }
    assert changed(before, model) == top | HEAD


def test_lora_rank_is_a_tunable_that_reaches_fine_tune():
    from kerasft import config
    from kerasft.jobs.recipe import fine_tune_kwargs
    from kerasft.tuning.space import SearchSpace, to_config

    # Not tuned unless asked: a default (image) search stays as it was.
    assert "lora_rank" not in [p.name for p in SearchSpace().tuned()]
    space = SearchSpace({"lora_rank": [0, 4, 8]}, only=["lora_rank"])
    assert [p.name for p in space.tuned()] == ["lora_rank"]
    assert space["lora_rank"].values == [0, 4, 8]
    assert to_config({"lora_rank": 0})["lora_rank"] is None  # 0: no LoRA
    cfg = config.validate(to_config({"lora_rank": 8}))
    assert fine_tune_kwargs(config.resolve(cfg))["lora_rank"] == 8
    with pytest.raises(KerasftError, match="'lora_rank': -1 is not a rank"):
        SearchSpace({"lora_rank": [-1, 4]})


def test_adapters_train_on_after_a_crash_safety_backup_is_restored(preset, tmp_path):
    from kerasft.training.epoch_backup import EpochBackup

    x, y = topic_texts(36)
    targets = keras.utils.to_categorical(y, 3)
    model = text_model(preset, lora_rank=2)
    kft.unfreeze(model, blocks=1)
    kft.compile(model, 1e-2)
    # A backup kept as a crash leaves it (Keras deletes it after a clean finish).
    first = EpochBackup(tmp_path / "backup", max_overhead=None, delete_checkpoint=False)
    model.fit(x, targets, epochs=1, batch_size=12, verbose=0, callbacks=[first])
    expected = model.predict(x, verbose=0)
    restarted = text_model(preset, lora_rank=2)
    kft.unfreeze(restarted, blocks=1)
    kft.compile(restarted, 1e-2)
    again = EpochBackup(tmp_path / "backup", max_overhead=None)
    again.set_model(restarted)
    again.on_train_begin()  # Keras restores the backup here, zeroing both adapter matrices
    np.testing.assert_allclose(restarted.predict(x, verbose=0), expected, atol=1e-5)
    layer = lora_layers(restarted)[-1]
    a, b = (keras.ops.convert_to_numpy(v) for v in adapters(layer))
    assert np.any(a) and not np.any(b)  # A drawn again, B zero: same outputs, gradients flow
    # The restore also set the epoch to go on from (1): two more epochs run.
    history = restarted.fit(x, targets, epochs=3, batch_size=12, verbose=0)
    assert history.epoch == [1, 2]
    assert np.any(keras.ops.convert_to_numpy(adapters(layer)[1]))  # B trained
