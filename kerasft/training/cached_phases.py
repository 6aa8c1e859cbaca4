"""Fine-tuning phases that train on cached features instead of re-running frozen layers.

`kft.fine_tune(..., phase_fns=cached_phase_fns(model, ...))` replaces each phase's
`model.fit` with a `fit` of the trainable part of the model on features computed once:

* phase 1 (head only): the backbone's pooled features, so an epoch costs a few matrix
  products instead of a full forward pass of the backbone;
* phase 2 (top blocks unfrozen): the activations at the input of the first unfrozen
  block, so an epoch runs only the unfrozen blocks and the head.

The trainable part shares its layers with the model: training it trains the model, and
the saved model is the usual full model taking raw images.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from kerasft.backbones.blocks import block_map
from kerasft.builder.build import get_backbone
from kerasft.cache.cut import ModelCut
from kerasft.cache.feature_cache import FeatureCache, check_settings
from kerasft.cache.fingerprint import row_hashes
from kerasft.cache.relay import CallbackRelay
from kerasft.errors import KerasftError
from kerasft.freezing import trainable_blocks
from kerasft.training.inputs import check_labels
from kerasft.training.tasks import infer_task

PhaseFn = Callable[[keras.Model, tf.data.Dataset, "tf.data.Dataset | None", dict], object]


def _images(x: np.ndarray, model: keras.Model) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim == len(model.input_shape) - 1 and model.input_shape[-1] == 1:
        x = x[..., None]
    return x


def _targets(y, model: keras.Model, what: str) -> np.ndarray:
    # The same targets `kft.fine_tune` builds: one-hot for integer multiclass labels.
    task = infer_task(model)
    num_outputs = model.output_shape[-1]
    y = check_labels(np.asarray(y), task, num_outputs, what)
    if task == "multiclass" and y.ndim == 1:
        y = np.eye(num_outputs, dtype="float32")[y.astype("int64")]
    return y.astype("float32")


def _from_dataset(ds: tf.data.Dataset) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for batch in ds.as_numpy_iterator():
        xs.append(batch[0])
        ys.append(batch[1])
    return np.concatenate(xs), np.concatenate(ys).astype("float32")


class CachedPhases:
    """The state shared by the two cached phases of one `fine_tune` run.

    Build it with `cached_phase_fns`; see there for the arguments.
    """

    def __init__(
        self,
        model: keras.Model,
        cache: str = "auto",
        *,
        unfreeze_blocks: int | str = 2,
        train=None,
        val=None,
        batch_size: int | str = 64,
        seed: int = 0,
        cache_dir: str | os.PathLike | None = None,
        dtype: str = "float16",
        views: int = 1,
        extract_batch_size: int = 256,
        verbose: int = 1,
    ):
        self.model = model
        self.cache = cache
        self.unfreeze_blocks = unfreeze_blocks
        self.batch_size = batch_size
        self.seed = seed
        self.cache_dir = cache_dir
        self.dtype = dtype
        self.views = views
        self.extract_batch_size = extract_batch_size
        self.verbose = verbose
        self._raw = {"train": train, "val": val}
        self._data: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._order: tf.data.Dataset | None = None
        self.report: dict[int, str] = {}
        check_settings(cache, dtype, views)  # before any training

    # -- data ----------------------------------------------------------------------------

    def _say(self, message: str) -> None:
        if self.verbose:
            print(message)

    def data(self, what: str, ds) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(images, targets, row hashes) of the train or validation data."""
        if what in self._data:
            return self._data[what]
        raw = self._raw.get(what)
        if isinstance(raw, (tuple, list)) and len(raw) == 2:
            x, y = _images(raw[0], self.model), _targets(raw[1], self.model, what)
        elif ds is not None:
            # fine_tune's own pipeline: its targets are already what the loss expects.
            x, y = _from_dataset(ds)
        else:
            return None
        self._data[what] = (x, y, row_hashes(x))
        return self._data[what]

    def order(self, n: int) -> tf.data.Dataset:
        # The same shuffle as `fine_tune`'s array pipeline (same seed, same buffer), and one
        # shuffle shared by both phases: batches come in the order the uncached run sees.
        if self._order is None:
            self._order = tf.data.Dataset.range(n).shuffle(
                min(n, 20_000), seed=self.seed, reshuffle_each_iteration=True
            )
        return self._order

    def phase_batch_size(self, runner: keras.Model, phase: int) -> int:
        """The batch size of a phase: the one given, or measured for what trains now."""
        if self.batch_size != "auto":
            return self.batch_size
        from kerasft.speed.batch_size import find_batch_size

        found = find_batch_size(runner, start=16, limit=512)
        self._say(
            f"kerasft batch size: phase {phase}: {found.batch_size} (best {found.goal}, "
            f"found in {found.seconds:.0f}s)"
        )
        return found.batch_size

    def plain_fit(self, model, train_ds, val_ds, fit_kwargs, phase: int, why: str):
        self.report[phase] = f"fit ({why})"
        if self.batch_size == "auto" and all(d is not None for d in model.input_shape[1:]):
            size = self.phase_batch_size(model, phase)
            train_ds = train_ds.unbatch().batch(size).prefetch(tf.data.AUTOTUNE)
        return model.fit(train_ds, validation_data=val_ds, **fit_kwargs)

    def dataset(self, rows, targets: np.ndarray, shuffle: bool, batch_size: int) -> tf.data.Dataset:
        views = self.views
        index = self.order(len(rows)) if shuffle else tf.data.Dataset.range(len(rows))
        rng = np.random.default_rng(self.seed)
        shape = rows.row_shape[1:] if views > 1 else rows.row_shape

        def gather(idx):
            features = rows.take(idx)
            if views > 1:
                # One of the cached augmented views per image, drawn afresh each time.
                pick = rng.integers(views, size=len(idx)) if shuffle else np.zeros(len(idx), int)
                features = features[np.arange(len(idx)), pick]
            return features.astype("float32"), targets[idx]

        def load(idx):
            features, target = tf.numpy_function(
                gather, [idx], (tf.float32, tf.float32), stateful=shuffle
            )
            return (
                tf.ensure_shape(features, (None, *shape)),
                tf.ensure_shape(target, (None, *targets.shape[1:])),
            )

        # The shuffle stays inside the dataset Keras iterates, so Keras draws shuffle orders
        # exactly as it does for `fine_tune`'s image pipeline.
        return index.batch(batch_size).map(load).prefetch(tf.data.AUTOTUNE)

    # -- caches --------------------------------------------------------------------------

    def feature_cache(self, cut: ModelCut, source: FeatureCache | None = None) -> FeatureCache:
        return FeatureCache(
            cut,
            self.cache,
            root=self.cache_dir,
            dtype=self.dtype,
            views=self.views,
            batch_size=self.extract_batch_size,
            source=source,
            verbose=self.verbose,
        )

    def phase2_block(self, model: keras.Model, predicted: bool) -> str | None:
        """The last frozen block below the phase-2 trainable blocks, or None (no cut)."""
        names = list(block_map(get_backbone(model)))
        if predicted:
            n = self.unfreeze_blocks
            if n == "all" or not isinstance(n, int) or n <= 0 or n >= len(names):
                return None
            return names[len(names) - n - 1]
        chosen = trainable_blocks(model)
        if not chosen or names.index(chosen[0]) == 0:
            return None
        return names[names.index(chosen[0]) - 1]

    def usable(self, cut: ModelCut, sample: np.ndarray, phase: int) -> bool:
        if cut.prefix_variables():
            self._say(
                f"kerasft cache: phase {phase}: layers before {cut.name} are trainable; "
                "training without the cache."
            )
            return False
        if self.views == 1 and not cut.is_deterministic(sample):
            self._say(
                f"kerasft cache: phase {phase}: random augmentation runs before the backbone, "
                "so features cannot be computed once. Training without the cache (pass "
                "views=K to cache K augmented views per image)."
            )
            return False
        return True

    def rows(self, caches: list[FeatureCache], what: str, ds):
        """Features of the train/val data at the last cache of `caches` (each feeds the next)."""
        data = self.data(what, ds)
        if data is None:
            return None, None
        x, y, hashes = data
        rows = None
        for cache in caches:
            rows = cache.features(x, hashes, source_rows=rows, what=what)
            if rows is None:
                return None, None
        return rows, y

    # -- phases --------------------------------------------------------------------------

    def fit(self, model, cut: ModelCut, caches, train_ds, val_ds, fit_kwargs, phase: int):
        rows, targets = self.rows(caches, "train", train_ds)
        if rows is None:
            return self.plain_fit(model, train_ds, val_ds, fit_kwargs, phase, "cache off")
        runner = cut.suffix
        batch_size = self.phase_batch_size(runner, phase)
        val_data = None
        if val_ds is not None or self._raw.get("val") is not None:
            val_rows, val_targets = self.rows(caches, "val", val_ds)
            val_data = self.dataset(val_rows, val_targets, False, max(batch_size, 256))
        train_data = self.dataset(rows, targets, True, batch_size)
        config = dict(model._compile_config.config)
        config["optimizer"] = model.optimizer  # shared: LR callbacks and state reach it
        runner.compile(**config)
        kwargs = dict(fit_kwargs)
        relay = CallbackRelay(kwargs.pop("callbacks", None), model=model, runner=runner)
        history = runner.fit(train_data, validation_data=val_data, callbacks=[relay], **kwargs)
        history.set_model(model)
        model.history = history
        self.report[phase] = f"cached at {cut.name} {tuple(cut.feature_shape)}"
        return history

    def cut(self, model, phase: int, after_block: str | None = None) -> ModelCut | None:
        try:
            return ModelCut(model, after_block=after_block)
        except KerasftError as err:
            self._say(f"kerasft cache: phase {phase}: {err} Training without the cache.")
            return None

    def phase1(self, model, train_ds, val_ds, fit_kwargs):
        cut = self.cut(model, 1)
        if cut is None:
            return self.plain_fit(model, train_ds, val_ds, fit_kwargs, 1, "no cut")
        sample = self.data("train", train_ds)[0][:4]
        if not self.usable(cut, sample, 1):
            return self.plain_fit(model, train_ds, val_ds, fit_kwargs, 1, "not cacheable")
        caches = []
        block = self.phase2_block(model, predicted=True)
        if block is not None and self.cache != "off":
            # Phase 2 will need the activations below its first trainable block: compute
            # them once from images, and phase 1's features from them (a cheap top pass).
            lower = self.cut(model, 1, after_block=block)
            if lower is not None:
                caches.append(self.feature_cache(lower))
        caches.append(self.feature_cache(cut, source=caches[0] if caches else None))
        return self.fit(model, cut, caches, train_ds, val_ds, fit_kwargs, 1)

    def phase2(self, model, train_ds, val_ds, fit_kwargs):
        block = self.phase2_block(model, predicted=False)
        if block is None:
            return self.plain_fit(model, train_ds, val_ds, fit_kwargs, 2, "whole backbone trains")
        cut = self.cut(model, 2, after_block=block)
        if cut is None:
            return self.plain_fit(model, train_ds, val_ds, fit_kwargs, 2, "no cut")
        sample = self.data("train", train_ds)[0][:4]
        if not self.usable(cut, sample, 2):
            return self.plain_fit(model, train_ds, val_ds, fit_kwargs, 2, "not cacheable")
        return self.fit(model, cut, [self.feature_cache(cut)], train_ds, val_ds, fit_kwargs, 2)

    def phase_fns(self) -> dict[int, PhaseFn]:
        if self.cache == "off":
            return {}
        return {1: self.phase1, 2: self.phase2}


def cached_phase_fns(
    model: keras.Model,
    cache: str = "auto",
    *,
    unfreeze_blocks: int | str = 2,
    train=None,
    val=None,
    batch_size: int | str = 64,
    seed: int = 0,
    cache_dir: str | os.PathLike | None = None,
    dtype: str = "float16",
    views: int = 1,
    extract_batch_size: int = 256,
    verbose: int = 1,
) -> dict[int, PhaseFn]:
    """`phase_fns` for `kft.fine_tune` that train on cached features.

    Args:
        model: the model `fine_tune` trains (a `kft.build` model or a plain functional one).
        cache: "auto" (RAM and disk when they have room), "memory" (this process only),
            "disk" (memory-mapped `.npy`, reused by later runs) or "off".
        unfreeze_blocks: what `fine_tune` unfreezes in phase 2; phase 1 then computes the
            phase-2 activations first and derives its own features from them.
        train, val: the `(images, labels)` arrays given to `fine_tune` (recommended: they
            are hashed directly and batches come in `fine_tune`'s order). Otherwise (None or
            a `tf.data.Dataset`) the phases collect `fine_tune`'s datasets in one pass and
            reshuffle the collected rows each epoch; random augmentation inside a tf.data
            pipeline is then frozen at that pass (put it in the model to get `views`).
        batch_size, seed: as given to `fine_tune`. batch_size="auto" measures one for each
            phase with `kerasft.speed.find_batch_size` (the largest that fits on a GPU, the
            fastest on a CPU), so phase 2 gets its own once blocks are unfrozen.
        cache_dir: the on-disk cache root (default `~/.cache/kerasft/features`).
        dtype: "float16" (half the memory; the accuracy cost measured nil) or "float32".
        views: >1 caches that many randomly augmented views of each image and trains each
            epoch on one of them, drawn at random; 1 needs no augmentation before the cut.
        extract_batch_size: images per forward pass while computing features.
        verbose: print what is computed, reused, or why a phase runs uncached.

    Example:

    >>> import numpy as np, kerasft as kft
    >>> model = kft.build("mobilenet", 3, input_shape=(32, 32, 3), image_size=32, weights=None)
    >>> x, y = np.random.randint(0, 255, (16, 32, 32, 3)), np.arange(16) % 3
    >>> fns = cached_phase_fns(model, "memory", train=(x, y), batch_size=8, verbose=0)
    >>> history = kft.fine_tune(model, (x, y), epochs=(1, 1), batch_size=8, verbose=0,
    ...                         phase_fns=fns)
    >>> len(history.epoch)
    2
    """
    if batch_size != "auto" and (not isinstance(batch_size, int) or batch_size < 1):
        raise KerasftError(f"batch_size={batch_size!r} must be a positive integer or 'auto'.")
    return CachedPhases(
        model,
        cache,
        unfreeze_blocks=unfreeze_blocks,
        train=train,
        val=val,
        batch_size=batch_size,
        seed=seed,
        cache_dir=cache_dir,
        dtype=dtype,
        views=views,
        extract_batch_size=extract_batch_size,
        verbose=verbose,
    ).phase_fns()
