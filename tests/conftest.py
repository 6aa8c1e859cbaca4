"""Suite-wide set-up: quiet TensorFlow, no network, shared real data and weights."""

from __future__ import annotations

import ipaddress
import os
import socket
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# As kerasft sets it on import; set here too so TensorFlow sees the same value in this process
# and in subprocesses that import only Keras (numerics differ slightly with oneDNN on/off).
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


def _isolated_kerasft_cache() -> None:
    # Feature caches persist across runs by design; tests that check what gets computed must
    # not see a previous session's entries. Downloaded sdists, imported weights (MiniLM) and
    # prepared corpora stay shared (no network in tests).
    from kerasft.paths import kerasft_cache_dir, kerasft_data_dir, kerasft_weights_dir

    real = kerasft_cache_dir()
    weights, data = kerasft_weights_dir(), kerasft_data_dir()
    fresh = Path(tempfile.mkdtemp(prefix="kerasft-test-cache-"))
    if (real / "sdists").is_dir():
        (fresh / "sdists").symlink_to(real / "sdists", target_is_directory=True)
    os.environ["KERASFT_CACHE"] = str(fresh)
    if weights.is_dir():
        os.environ.setdefault("KERASFT_WEIGHTS", str(weights))
    if data.is_dir():  # the corpora `make assets` prepared (tests that write data redirect it)
        os.environ.setdefault("KERASFT_DATA", str(data))


_isolated_kerasft_cache()

_real_connect = socket.socket.connect


def _loopback_only(self, address):
    # The suite must never reach the network: only loopback servers (TensorBoard, the tuner's
    # oracle) may be contacted. A test that tries more fails loudly here.
    host = address[0] if isinstance(address, tuple) else None
    if host is not None and self.family in (socket.AF_INET, socket.AF_INET6):
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            ip = None
        if (ip is None and host != "localhost") or (ip is not None and not ip.is_loopback):
            raise OSError(f"tests may not use the network (tried to connect to {address!r})")
    return _real_connect(self, address)


socket.socket.connect = _loopback_only


@pytest.fixture(scope="session")
def fashion_mnist():
    """The real Fashion-MNIST arrays: ((x_train, y_train), (x_test, y_test), class_names)."""
    from kerasft.data.keras_datasets import load_arrays

    return load_arrays("fashion_mnist")


@pytest.fixture(scope="session")
def imagenet_mobilenet():
    """Make sure the real ImageNet MobileNet weights are in $KERAS_HOME/models (idempotent)."""
    from kerasft.weights import import_mobilenet_imagenet

    return import_mobilenet_imagenet(verbose=False)


@pytest.fixture(autouse=True)
def _empty_in_process_feature_cache():
    """Each test starts without features another test cached in this process."""
    import sys

    store = sys.modules.get("kerasft.cache.store")
    if store is not None:
        store._MEMORY.clear()
    yield


# The longest test files, longest first (measured with --durations): `make test` runs two
# pytest-xdist workers that take whole files in collection order, so starting the long files
# first keeps one worker from running them alone at the end.
LONGEST_FIRST = (
    "test_readme_own_images.py",
    "test_readme_audio.py",
    "06_text.ipynb",
    "test_lora.py",
    "test_text.py",
    "test_jobs_text.py",
    "test_jobs_audio.py",
    "test_audio.py",
    "test_readme_texts.py",
    "test_speed_bench.py",
    "test_callbacks_under_runners.py",
    "test_tuning_tuners.py",
    "test_readme_snippets.py",
    "test_training_resume.py",
    "test_tuning_memory.py",
    "test_cache_equivalence.py",
    "test_cli_fit_resume.py",
    "test_jobs_own_data.py",
    "test_callbacks_early_stopping.py",
    "test_cli_fit.py",
    "test_tuning_resume.py",
    "test_export.py",
    "07_audio.ipynb",
    "05_own_images.ipynb",
    "test_text_minilm.py",
    "test_audio_musicnn.py",
)


def pytest_collection_modifyitems(session, config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: order kept
