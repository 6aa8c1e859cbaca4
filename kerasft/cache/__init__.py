"""Feature caches: frozen layers run once, their outputs reused across epochs and runs.

`CachedRunner` runs `kft.fine_tune`'s phases on them (`fine_tune(cache="auto")`, the
default of `kerasft fit`); `ModelCut` splits a model into the frozen part that runs once and
the part that trains; `FeatureCache` computes and stores one cut's features (`FeatureStore`
on disk, `FeatureRows` to read them, `fingerprint` for the content keys, `budget` to choose
RAM or disk); `twins.with_fast_kernels` gives the part that trains faster TensorFlow ops on
the same variables; `kerasft cache ls|clear` manages the files on disk.
"""

from kerasft.cache.budget import choose_mode, estimate_bytes
from kerasft.cache.cut import ModelCut
from kerasft.cache.feature_cache import FeatureCache
from kerasft.cache.manage import clear, ls, prune
from kerasft.cache.rows import FeatureRows
from kerasft.cache.runner import CachedRunner
from kerasft.cache.store import FeatureStore, default_root

__all__ = [
    "CachedRunner",
    "FeatureCache",
    "FeatureRows",
    "FeatureStore",
    "ModelCut",
    "choose_mode",
    "clear",
    "default_root",
    "estimate_bytes",
    "ls",
    "prune",
]
