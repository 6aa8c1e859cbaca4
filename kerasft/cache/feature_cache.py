"""`FeatureCache`: the features at one cut of a model, computed once, reused everywhere."""

from __future__ import annotations

import os
import time

import keras
import numpy as np
import tensorflow as tf

from kerasft import compat
from kerasft.cache import budget
from kerasft.cache.cut import ModelCut
from kerasft.cache.fingerprint import layers_fingerprint, row_hashes, rows_fingerprint
from kerasft.cache.rows import FeatureRows
from kerasft.cache.store import FeatureStore, default_root
from kerasft.errors import KerasftError

FORMAT = 1  # bump when the stored layout or the way features are computed changes
# A streamed pipeline's features are written in shards of about this many bytes, so at most
# one shard is held in memory while images flow through.
SHARD_BYTES = 256 << 20


def _leaf_layers(model: keras.Model) -> list[keras.layers.Layer]:
    # Nested functional containers are skipped: their configs name graph nodes whose
    # indices change each time a cut is rebuilt, while the leaf layers fully define the math.
    return [layer for layer in compat.sublayers(model) if not isinstance(layer, keras.Model)]


def check_settings(mode: str, dtype: str, views: int) -> None:
    """Raise a clear error for a bad cache mode, dtype or number of views."""
    if mode not in budget.MODES:
        from kerasft.errors import unknown_name

        raise unknown_name("cache", mode, budget.MODES)
    if dtype not in ("float16", "float32"):
        raise KerasftError(f"dtype={dtype!r}: cache features as 'float16' or 'float32'.")
    if not isinstance(views, int) or isinstance(views, bool) or views < 1:
        raise KerasftError(f"views={views!r} must be a positive integer (1: no augmentation).")


class FeatureCache:
    """Features of `cut.prefix` for datasets' rows, looked up by content, computed once.

    Args:
        cut: where the model is split (`kerasft.cache.ModelCut`).
        mode: "auto", "memory", "disk" or "off" (see `kerasft.cache.budget.choose_mode`).
        root: the on-disk cache root (default `~/.cache/kerasft/features`).
        dtype: storage dtype, "float16" (half the memory) or "float32" (exact).
        views: >1 stores that many augmented views per image (the prefix runs in training
            mode, so random augmentation before the cut draws a new view each time).
        batch_size: images per forward pass while computing features.
        source: compute features from this earlier cut's cache instead of from images.
        verbose: print what is computed and reused.

    Example:

    >>> import numpy as np, tempfile, kerasft as kft
    >>> from kerasft.cache import FeatureCache, ModelCut
    >>> model = kft.build("mobilenet", 3, input_shape=(32, 32, 3), image_size=32, weights=None)
    >>> cache = FeatureCache(ModelCut(model), root=tempfile.mkdtemp(), verbose=0)
    >>> x = np.random.randint(0, 255, (8, 32, 32, 3)).astype("uint8")
    >>> cache.features(x).row_shape
    (1024,)
    """

    def __init__(
        self,
        cut: ModelCut,
        mode: str = "auto",
        *,
        root: str | os.PathLike | None = None,
        dtype: str = "float16",
        views: int = 1,
        batch_size: int = 256,
        source: FeatureCache | None = None,
        verbose: int = 1,
    ):
        check_settings(mode, dtype, views)
        self.cut = cut
        self.mode = mode
        self.root = default_root() if root is None else root
        self.dtype = dtype
        self.views = views
        self.batch_size = int(batch_size)
        self.source = source
        self.verbose = verbose
        self.resolved_mode: str | None = None
        self._store: FeatureStore | None = None
        self._forward = None

    # -- keys ----------------------------------------------------------------------------

    def key(self) -> dict:
        """The key parts: any change to them means different features."""
        cut, model = self.cut, self.cut.model
        backbone_layers = [
            layer
            for layer in _leaf_layers(cut.prefix)
            if layer in set(compat.sublayers(cut.backbone))
        ]
        other_layers = [layer for layer in _leaf_layers(cut.prefix) if layer not in backbone_layers]
        return {
            "format": FORMAT,
            "backbone": cut.backbone.name,
            "weights": layers_fingerprint(backbone_layers),
            "input_shape": list(model.input_shape[1:]),
            "image_size": list(cut.backbone.input_shape[1:3]) if cut.nested else None,
            "preprocessing": [type(layer).__name__ for layer in other_layers],
            "preprocessing_fingerprint": layers_fingerprint(other_layers),
            "cut": cut.name,
            "feature_shape": list(cut.feature_shape),
            "dtype": self.dtype,
            "views": self.views,
            "via": None if self.source is None else self.source.key(),
        }

    # -- computing -----------------------------------------------------------------------

    def _store_for(self, nbytes: int) -> FeatureStore | None:
        if self._store is not None:
            return self._store
        mode, message = budget.choose_mode(self.mode, nbytes, self.root)
        if message and self.verbose:
            print(message)
        self.resolved_mode = mode
        if mode == "off":
            return None
        self._store = FeatureStore(
            self.key(),
            root=self.root,
            disk=mode in ("disk", "memory+disk"),
            in_memory=mode in ("memory", "memory+disk"),
        )
        return self._store

    def estimate_bytes(self, rows: int) -> int:
        return budget.estimate_bytes(rows, self.cut.feature_shape, self.dtype, self.views)

    def _forward_fn(self, model: keras.Model, augment: bool = False):
        # An augmenting prefix fixes each part's mode itself (augmentation on, backbone off);
        # a training flag given here would override both.
        training = None if augment else False

        @tf.function(reduce_retracing=True)
        def forward(x):
            return model(x, training=training)

        return forward

    def _progress(self, total: int | None, what: str):
        """A progress bar with ETA over the images whose features are computed, or None."""
        if not self.verbose:
            return None
        import sys
        import warnings

        with warnings.catch_warnings():
            # Without ipywidgets, tqdm.auto warns and draws a text bar, which is fine.
            warnings.filterwarnings("ignore", message=".*IProgress not found.*")
            from tqdm.auto import tqdm

        return tqdm(
            total=total,
            desc=f"kerasft cache: {what}: {self.cut.name} features",
            unit="text" if str(self.cut.model.inputs[0].dtype) == "string" else "image",
            file=sys.stdout,
            mininterval=1.0,
        )

    def _compute(self, inputs, n: int, target: np.ndarray, what: str = "train") -> None:
        augment = self.views > 1
        model = self.cut.augmented_prefix() if augment else self.cut.prefix
        forward = self._forward_fn(model, augment)
        bar = self._progress(n * self.views, what)
        for view in range(self.views):
            for start in range(0, n, self.batch_size):
                stop = min(start + self.batch_size, n)
                batch = inputs(start, stop)
                out = keras.ops.convert_to_numpy(forward(batch)).astype(self.dtype)
                if self.views > 1:
                    target[start:stop, view] = out
                else:
                    target[start:stop] = out
                if bar is not None:
                    bar.update(stop - start)
        if bar is not None:
            bar.close()

    def stream(self, batches, *, total: int | None = None, what: str = "train"):
        """Features of every image a pipeline yields, in one pass, batch by batch.

        Each batch is hashed, and the features of rows not stored yet are computed and
        written in shards of about `SHARD_BYTES` (memory-mapped files in disk mode), so
        memory holds a few batches and one shard, never the images of the whole pipeline.

        Args:
            batches: an iterable of `(images, targets)` NumPy batches (a
                `tf.data.Dataset`'s `as_numpy_iterator()`), read once.
            total: the number of images expected (for the memory budget and the progress
                bar's ETA), None if unknown.
            what: "train" or "val", for messages.

        Returns:
            `(rows, hashes, targets)` in the order the pipeline yielded them, or None when
            the cache is off.
        """
        if self.source is not None or self.views > 1:
            raise KerasftError(
                "Streaming computes features from images: it needs a cache of its own "
                "(no source) and views=1."
            )
        store = self._store_for(self.estimate_bytes(total or 0))
        if store is None:
            return None
        start = time.perf_counter()
        known = store.known()
        if self._forward is None:
            # One traced function for every stream of this cache (train, val, later phases).
            self._forward = self._forward_fn(self.cut.prefix)
        forward = self._forward
        row_bytes = self.estimate_bytes(1)
        shard_rows = max(1, SHARD_BYTES // max(row_bytes, 1))
        hashes, targets, pending, pending_hashes = [], [], [], []
        computed = 0
        bar = None
        for x, y in batches:
            batch_hashes = row_hashes(x)
            hashes.append(batch_hashes)
            targets.append(np.asarray(y))
            todo = np.array([h not in known for h in batch_hashes.tolist()], dtype=bool)
            if todo.any():
                if bar is None:
                    bar = self._progress(total, what)
                fresh = batch_hashes[todo]
                out = keras.ops.convert_to_numpy(forward(np.asarray(x)[todo]))
                pending.append(out.astype(self.dtype))
                pending_hashes.append(fresh)
                known.update(fresh.tolist())
                computed += len(fresh)
                if sum(len(p) for p in pending) >= shard_rows:
                    self._write_shard(store, pending, pending_hashes, start)
                    pending, pending_hashes = [], []
            if bar is not None:
                bar.update(len(batch_hashes))
        if bar is not None:
            bar.total = bar.n  # `total` was an estimate (a short last batch)
            bar.close()
        if pending:
            self._write_shard(store, pending, pending_hashes, start)
        if not hashes:
            raise KerasftError(f"The {what} pipeline yielded no images.")
        hashes = np.concatenate(hashes)
        rows, missing = store.lookup(hashes)
        if self.verbose:
            print(
                f"kerasft cache: {what}: streamed {len(hashes)} images, computed {computed} rows "
                f"of {self.cut.name} features {tuple(self.cut.feature_shape)} in "
                f"{time.perf_counter() - start:.1f}s ({self.resolved_mode}); "
                f"{len(hashes) - computed} reused."
            )
        return rows, hashes, np.concatenate(targets)

    def _write_shard(self, store, features: list, hashes: list, start: float) -> None:
        features, hashes = np.concatenate(features), np.concatenate(hashes)
        store.add(hashes, features, seconds=round(time.perf_counter() - start, 2))

    def lookup(self, hashes: np.ndarray) -> FeatureRows | None:
        """The stored features of rows `hashes`, or None unless every one is stored."""
        store = self._store_for(self.estimate_bytes(len(hashes)))
        if store is None:
            return None
        rows, missing = store.lookup(hashes)
        return None if missing.any() else rows

    def features(
        self,
        x: np.ndarray,
        hashes: np.ndarray | None = None,
        *,
        source_rows: FeatureRows | None = None,
        what: str = "train",
    ) -> FeatureRows | None:
        """Features of images `x` (rows in order); None when the cache is off.

        With a `source` cache, pass `source_rows` (its features of the same rows) and `x`
        may be None; `hashes` (the row hashes of the images) are then required.
        """
        if hashes is None:
            hashes = row_hashes(x)
        n = len(hashes)
        store = self._store_for(self.estimate_bytes(n))
        if store is None:
            return None
        rows, missing = store.lookup(hashes)
        if not missing.any():
            if self.verbose:
                print(f"kerasft cache: {what}: {n} rows of {self.cut.name} features reused.")
            return rows
        todo = np.flatnonzero(missing)
        start = time.perf_counter()
        row_shape = ((self.views,) if self.views > 1 else ()) + tuple(self.cut.feature_shape)
        entry, target = store.new_entry(len(todo), row_shape, self.dtype)
        if self.source is not None:
            if source_rows is None:
                raise KerasftError("A derived feature cache needs source_rows.")
            model = self.source.cut.to(self.cut)
            self._compute_from_source(source_rows, todo, model, target, what)
        else:
            if x is None:
                raise KerasftError("Computing features needs the images (x).")
            self._compute(lambda a, b: np.asarray(x[todo[a:b]]), len(todo), target, what)
        store.commit(
            entry,
            hashes[todo],
            target,
            dataset=rows_fingerprint(hashes),
            seconds=round(time.perf_counter() - start, 2),
        )
        if self.verbose:
            print(
                f"kerasft cache: {what}: computed {len(todo)} rows of {self.cut.name} features "
                f"{tuple(self.cut.feature_shape)} in {time.perf_counter() - start:.1f}s "
                f"({budget.human(self.estimate_bytes(len(todo)))}, {self.resolved_mode}); "
                f"{n - len(todo)} reused."
            )
        rows, missing = store.lookup(hashes)
        return rows

    def _compute_from_source(self, source_rows, todo, model, target, what: str = "train"):
        forward = self._forward_fn(model)
        # Running frozen top layers over cached rows can take minutes too (a transformer's).
        bar = self._progress(len(todo), what)
        for start in range(0, len(todo), self.batch_size):
            stop = min(start + self.batch_size, len(todo))
            batch = source_rows.take(todo[start:stop], dtype="float32")
            if self.views > 1:
                flat = batch.reshape((-1, *batch.shape[2:]))
                out = keras.ops.convert_to_numpy(forward(flat))
                target[start:stop] = out.reshape((stop - start, self.views, *out.shape[1:]))
            else:
                target[start:stop] = keras.ops.convert_to_numpy(forward(batch))
            if bar is not None:
                bar.update(stop - start)
        if bar is not None:
            bar.close()
