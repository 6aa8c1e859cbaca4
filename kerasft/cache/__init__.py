"""Feature caches: frozen layers run once, their outputs reused across epochs and runs.

`kerasft.training.cached_phases.cached_phase_fns` plugs them into `kft.fine_tune`;
`kerasft cache ls|clear` manages the files on disk.
"""

from kerasft.cache.budget import choose_mode, estimate_bytes
from kerasft.cache.cut import ModelCut
from kerasft.cache.feature_cache import FeatureCache
from kerasft.cache.manage import clear, ls, prune
from kerasft.cache.rows import FeatureRows
from kerasft.cache.store import FeatureStore, default_root

__all__ = [
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
