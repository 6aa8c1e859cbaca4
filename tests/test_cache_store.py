"""Feature store: rows found by content, keys that invalidate, budgets, `kerasft cache`."""

from __future__ import annotations

import numpy as np
import pytest
from test_cache_equivalence import learnable_data, make_model

import kerasft as kft
from kerasft.cache import CachedRunner, FeatureCache, FeatureStore, ModelCut, budget, clear, ls
from kerasft.cache.fingerprint import row_hashes
from kerasft.cli.main import main as cli
from kerasft.errors import KerasftError


def test_rows_are_reused_across_subsets_and_orders(tmp_path):
    x = np.random.default_rng(0).integers(0, 255, (10, 4, 4), dtype="uint8")
    store = FeatureStore({"k": 1}, root=tmp_path)
    store.add(row_hashes(x[:6]), np.arange(6, dtype="float16")[:, None])
    # A "fold" mixing stored rows (5, 1) and new ones (8): only row 8 is missing.
    rows, missing = store.lookup(row_hashes(x[[5, 8, 1]]))
    assert missing.tolist() == [False, True, False]
    assert rows.take(np.arange(2))[:, 0].tolist() == [5.0, 1.0]
    # Another process (fresh store object, nothing in memory) reads the same rows from disk.
    store.forget()
    again = FeatureStore({"k": 1}, root=tmp_path, in_memory=False)
    rows, missing = again.lookup(row_hashes(x[[1, 5]]))
    assert not missing.any() and rows.array()[:, 0].tolist() == [1.0, 5.0]
    # A different key sees nothing.
    assert FeatureStore({"k": 2}, root=tmp_path).lookup(row_hashes(x[:1]))[1].all()


def test_key_changes_with_weights_size_and_dtype():
    model = make_model()
    key = FeatureCache(ModelCut(model), dtype="float16").key()
    assert key == FeatureCache(ModelCut(model), dtype="float16").key()  # stable
    assert key != FeatureCache(ModelCut(model), dtype="float32").key()
    assert key != FeatureCache(ModelCut(model, after_block="block3")).key()
    conv = model.get_layer("tiny").get_layer("block1_conv")
    conv.kernel.assign(conv.kernel + 0.01)  # fine-tuned weights: features are stale
    assert FeatureCache(ModelCut(model), dtype="float16").key()["weights"] != key["weights"]
    bigger = kft.build("mobilenet", 3, input_shape=(32, 32, 3), image_size=32, weights=None)
    smaller = kft.build("mobilenet", 3, input_shape=(32, 32, 3), image_size=48, weights=None)
    assert FeatureCache(ModelCut(bigger)).key() != FeatureCache(ModelCut(smaller)).key()


def test_cache_reused_across_runs_and_folds(tmp_path, capsys):
    x, y = learnable_data(48)
    kwargs = dict(batch_size=16, cache_dir=tmp_path, verbose=1)
    model = make_model()
    kft.fine_tune(
        model,
        (x, y),
        epochs=(1, 0),
        batch_size=16,
        verbose=0,
        cache=CachedRunner("disk", **kwargs),
    )
    assert "computed 48 rows" in capsys.readouterr().out
    # A new run on a fold (a subset) computes nothing.
    fold = (x[:30], y[:30])
    model = make_model()
    kft.fine_tune(
        model,
        fold,
        epochs=(1, 0),
        batch_size=16,
        verbose=0,
        cache=CachedRunner("disk", **kwargs),
    )
    out = capsys.readouterr().out
    assert "computed" not in out and "30 rows of kft_head_pool features reused" in out
    rows = ls(tmp_path)
    # No phase 2 (epochs=(1, 0)): no activations are cached for it.
    assert {r["cut"] for r in rows} == {"kft_head_pool"}
    assert all(r["rows"] == 48 and r["bytes"] > 0 for r in rows)


def test_choose_mode_falls_back_with_a_message(tmp_path):
    gb = 1 << 30
    assert budget.choose_mode("auto", gb, tmp_path, memory=8 * gb, disk=8 * gb) == (
        "memory+disk",
        None,
    )
    mode, message = budget.choose_mode("auto", 3 * gb, tmp_path, memory=4 * gb, disk=8 * gb)
    assert mode == "disk" and "memory-mapping" in message
    mode, message = budget.choose_mode("memory", 3 * gb, tmp_path, memory=4 * gb, disk=0)
    assert mode == "off" and "Training without the cache" in message
    mode, message = budget.choose_mode("disk", 3 * gb, tmp_path, memory=64 * gb, disk=gb)
    assert mode == "off" and "cache_dir=" in message
    assert budget.estimate_bytes(1000, (4, 4, 512), "float16") == 1000 * 8192 * 2


def test_cached_phases_fall_back_without_room(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(budget, "available_memory", lambda: 1000)
    monkeypatch.setattr(budget, "available_disk", lambda path: 1000)
    x, y = learnable_data(32)
    model = make_model()
    history = kft.fine_tune(
        model,
        (x, y),
        epochs=(1, 0),
        batch_size=16,
        verbose=0,
        cache=CachedRunner(cache_dir=tmp_path, verbose=1),
        unfreeze_blocks=2,
    )
    assert "neither RAM" in capsys.readouterr().out and len(history.epoch) == 1


def test_bad_settings_are_refused_before_training():
    model = make_model()
    x, y = learnable_data(8)
    before = [w.numpy().copy() for w in model.weights]
    with pytest.raises(KerasftError, match="cache"):
        kft.fine_tune(model, (x, y), epochs=(1, 1), cache="ram", unfreeze_blocks=2)
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(before, model.weights))
    with pytest.raises(KerasftError, match="float16"):
        CachedRunner(dtype="int8", verbose=1)
    with pytest.raises(KerasftError, match="views"):
        CachedRunner(views=0, verbose=1)


def test_cli_ls_and_clear(tmp_path, capsys):
    store = FeatureStore({"backbone": "demo", "cut": "block_3"}, root=tmp_path)
    store.add(
        row_hashes(np.zeros((2, 3), "uint8") + np.arange(2)[:, None]), np.ones((2, 5), "float16")
    )
    assert cli(["cache", "ls", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "demo" in out and "block_3" in out and "1 cache(s)" in out
    assert cli(["cache", "clear", "--dir", str(tmp_path)]) == 2  # says what to clear
    assert cli(["cache", "clear", "nosuchid", "--dir", str(tmp_path)]) == 2
    assert cli(["cache", "clear", store.digest[:6], "--dir", str(tmp_path)]) == 0
    assert "Removed 1 cache(s)" in capsys.readouterr().out
    assert ls(tmp_path) == [] and clear(tmp_path) == []


def test_prune_drops_least_recently_used(tmp_path, monkeypatch):
    import os
    import time

    from kerasft.cache import prune

    stores = []
    for i in range(3):
        store = FeatureStore({"n": i}, root=tmp_path)
        store.add(
            row_hashes(np.full((4, 2), i, "uint8") + np.arange(4)[:, None]),
            np.zeros((4, 1000), "float32"),
        )
        stamp = store.dir / "last_used"
        os.utime(stamp, (time.time() - 100 * (3 - i),) * 2)  # store 0 is the oldest
        stores.append(store)
    size = ls(tmp_path)[0]["bytes"]
    removed = prune(tmp_path, limit=2 * size + 10)
    assert [r["id"] for r in removed] == [stores[0].digest]
    # The budget also applies on every write: a tiny one keeps only the cache just written.
    monkeypatch.setenv("KERASFT_CACHE_MAX_GB", str(1e-9))
    stores[1].add(row_hashes(np.full((1, 2), 9, "uint8")), np.zeros((1, 1000), "float32"))
    assert [r["id"] for r in ls(tmp_path)] == [stores[1].digest]
