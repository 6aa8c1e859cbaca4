"""`CachedRunner`: fine-tuning phases that train on cached features, not on frozen layers.

`kft.fine_tune(cache="auto")` (the default) runs each phase of its plan through this runner:

* phase 1 (head only) trains on the backbone's pooled features, so an epoch costs a few
  matrix products instead of a full forward pass of the backbone;
* phase 2 (top blocks unfrozen) trains on the activations at the input of the first
  unfrozen block, so an epoch runs only the unfrozen blocks and the head.

Phase 1 computes the phase-2 activations first (one pass over the images) and derives its
own features from them. The part that trains (`ModelCut.suffix`) shares its layers and its
optimizer with the model, so training it trains the model, and the saved model is the usual
full model taking raw images. Callbacks stay bound to the full model and see what a plain
`fit` would show them (its metrics are built, `stop_training` and the resume epoch are
relayed). A phase that cannot be cached (trainable layers or random augmentation before the
cut, no cut found, a callback with `changes_trainable = True` such as `GradualUnfreezing`)
falls back to the plain `fit`, and says why in `report`.
"""

from __future__ import annotations

import os

import keras
import numpy as np
import tensorflow as tf

from kerasft import compat
from kerasft.backbones.blocks import block_map
from kerasft.builder.build import get_backbone
from kerasft.cache.cut import ModelCut
from kerasft.cache.feature_cache import FeatureCache, check_settings
from kerasft.cache.fingerprint import row_hashes
from kerasft.cache.relay import CallbackRelay
from kerasft.cache.rows import FeatureRows
from kerasft.cache.twins import with_fast_kernels
from kerasft.data.pipeline import untuned
from kerasft.errors import KerasftError
from kerasft.freezing import trainable_blocks
from kerasft.training.devices import has_gpu
from kerasft.training.inputs import Prepared, shuffled
from kerasft.training.phase import Phase
from kerasft.training.runner import FitRunner


def _images(ds: tf.data.Dataset) -> int | None:
    """About how many examples a batched pipeline yields, or None if tf.data cannot tell.

    Its number of batches times the size of the first (one batch is read); the last batch may
    be short, so this is an upper bound, for the memory budget and the progress bar.
    """
    batches = int(ds.cardinality())
    if batches < 0:
        return None
    for x, *_ in ds.take(1):
        return batches * int(x.shape[0])
    return 0


def build_metrics(model: keras.Model, targets: np.ndarray) -> None:
    """Build `model`'s compiled metrics, as its first `fit` step would.

    Only the cut trains, so the full model never runs a step; callbacks bound to it (Keras's
    EarlyStopping and ModelCheckpoint with `mode="auto"`) look up `model.metrics` to learn
    whether "val_accuracy" should go up, and find nothing unless the metrics are built.
    """
    sample = targets[:1]
    model.compute_metrics(None, sample, sample, None)
    model.reset_metrics()


def build_before_fit(model: keras.Model, targets: np.ndarray) -> None:
    """Build `model`'s compiled metrics and its optimizer's slots now, as its first step would.

    Keras builds them inside the first traced train step when no `tf.distribute` strategy is
    set, and a `tf.function` that creates variables is traced twice (once creating them, once
    without); built beforehand, the step is traced once: the first phase-2 batch of the
    default job took 3.4-3.8 s before, mostly that second trace, on one core.
    """
    build_metrics(model, targets)
    if not model.optimizer.built:
        with model.distribute_strategy.scope():  # slots live where the model's variables do
            model.optimizer.build(model.trainable_variables)


def feature_dataset(
    rows: FeatureRows,
    targets: np.ndarray,
    *,
    batch_size: int,
    shuffle: bool = False,
    seed: int = 0,
    views: int = 1,
    order: tf.data.Dataset | None = None,
) -> tf.data.Dataset:
    """Batches of `(features as float32, targets)` from cached rows, in the plain runner's order.

    Args:
        rows: the cached features (`FeatureRows`), one row per image.
        targets: the targets of those rows, as the loss expects them.
        batch_size: rows per batch.
        shuffle: reshuffle each epoch with `seed` (`kerasft.training.inputs.shuffled`), the
            same order the plain runner's image pipeline draws.
        seed: the shuffle's seed, and that of the draw of a view when `views` > 1.
        views: the augmented views cached per image; each batch draws one per row.
        order: with `shuffle`, the shuffled row indices to draw from (`Prepared.order`, one
            object for every phase of a run, so each phase goes on with the next epoch's
            permutation); None makes a new one.
    """
    n = len(rows)
    index = tf.data.Dataset.range(n)
    if shuffle:
        index = order if order is not None else shuffled(index, n, seed)
    rng = np.random.default_rng(seed)
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
    # exactly as it does for the plain runner's image pipeline.
    return untuned(index.batch(batch_size).map(load).prefetch(tf.data.AUTOTUNE))


class CachedRunner(FitRunner):
    """Run `fine_tune`'s phases on features computed once (a feature cache).

    Pass it as `kft.fine_tune(..., cache=CachedRunner(...))` to set the cache's options;
    `cache="auto"|"memory"|"disk"` makes one with the defaults.

    Args:
        mode: "auto" (RAM and disk when they have room), "memory" (this process only),
            "disk" (memory-mapped `.npy`, reused by later runs) or "off" (every phase runs
            the plain `fit`).
        batch_size: None (the `batch_size` given to `fine_tune`), an int, or "auto": measure
            one for each phase with `kerasft.speed.find_batch_size` (the largest that fits
            on a GPU, the fastest on a CPU), so phase 2 gets its own once blocks unfreeze.
        cache_dir: the on-disk cache root (default `~/.cache/kerasft/features`).
        dtype: "float16" (half the memory; the accuracy cost measured nil) or "float32".
        views: >1 caches that many randomly augmented views of each image and trains each
            epoch on one of them, drawn at random; 1 needs no augmentation before the cut.
        extract_batch_size: images per forward pass while computing features.
        fast_kernels: on a CPU, train the part after the cut with its 1x1 convolutions
            and inference-mode BatchNormalization on faster TensorFlow ops
            (`kerasft.cache.twins.with_fast_kernels`: the same layers and variables, the
            same function; measured on CPUs only, so a GPU runs Keras's own kernels); False
            trains the layers as Keras runs them.
        verbose: None (follow `fine_tune`'s `verbose`) or 0/1: print what is computed,
            reused, or why a phase runs uncached.

    Data given to `fine_tune` as arrays is hashed directly and batches come in the plain
    runner's order (same seed, same shuffle). A `tf.data.Dataset` is streamed in one pass,
    batch by batch (`FeatureCache.stream`: its images are never collected, only their
    features, written in shards), and its rows reshuffled each epoch; random augmentation
    inside that pipeline is then frozen at that pass (put augmentation in the model to get
    `views`).

    Example:

    >>> import numpy as np, kerasft as kft
    >>> from kerasft.cache import CachedRunner
    >>> model = kft.build("mobilenet", 3, input_shape=(32, 32, 3), image_size=32, weights=None)
    >>> x, y = np.random.randint(0, 255, (16, 32, 32, 3)), np.arange(16) % 3
    >>> runner = CachedRunner("memory", verbose=0)
    >>> history = kft.fine_tune(model, (x, y), epochs=(1, 1), batch_size=8, cache=runner,
    ...                        verbose=0)
    >>> runner.report[1].startswith("cached at")
    True
    """

    name = "cached"

    def __init__(
        self,
        mode: str = "auto",
        *,
        batch_size: int | str | None = None,
        cache_dir: str | os.PathLike | None = None,
        dtype: str = "float16",
        views: int = 1,
        extract_batch_size: int = 256,
        fast_kernels: bool = True,
        verbose: int | None = None,
    ):
        super().__init__()
        if batch_size not in (None, "auto") and (
            not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1
        ):
            raise KerasftError(
                f"batch_size={batch_size!r} must be a positive integer, 'auto' or None."
            )
        check_settings(mode, dtype, views)  # before any training
        self.mode = mode
        self.batch_size = batch_size
        self.cache_dir = cache_dir
        self.dtype = dtype
        self.views = views
        self.extract_batch_size = extract_batch_size
        self.fast_kernels = fast_kernels
        self.verbose = verbose

    def get_config(self) -> dict:
        """The arguments the runner was made with."""
        return {
            "mode": self.mode,
            "batch_size": self.batch_size,
            "cache_dir": None if self.cache_dir is None else os.fspath(self.cache_dir),
            "dtype": self.dtype,
            "views": self.views,
            "extract_batch_size": self.extract_batch_size,
            "fast_kernels": self.fast_kernels,
            "verbose": self.verbose,
        }

    # -- the run ----------------------------------------------------------------------------

    def start(self, model, plan: list[Phase], data: Prepared, verbose) -> None:
        super().start(model, plan, data, verbose)
        self._verbose = (0 if verbose == 0 else 1) if self.verbose is None else self.verbose
        self._plan = list(plan)
        self._rows_of: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray] | None] = {}
        self._collected_order: tf.data.Dataset | None = None

    def run(self, model, phase: Phase, data: Prepared, fit_kwargs: dict):
        if self.mode == "off":
            return self._plain(model, phase, data, fit_kwargs, "cache off")
        if any(getattr(c, "changes_trainable", False) for c in fit_kwargs.get("callbacks", [])):
            # Layers unfrozen mid-phase would train on features computed while frozen.
            return self._plain(model, phase, data, fit_kwargs, "a callback changes what trains")
        if phase.unfreeze_blocks == 0:
            block, lower = None, self._next_phase_block(model, phase)
        else:
            block, lower = self._frozen_block_below(model), None
            if block is None:
                return self._plain(model, phase, data, fit_kwargs, "whole backbone trains")
        cut = self._cut(model, phase, block)
        if cut is None:
            return self._plain(model, phase, data, fit_kwargs, "no cut")
        if not self._usable(cut, self._sample(data), phase):
            return self._plain(model, phase, data, fit_kwargs, "not cacheable")
        caches = []
        if lower is not None:
            # The next phase needs the activations below its first trainable block: compute
            # them once from images, and this phase's features from them (a cheap top pass).
            lower_cut = self._cut(model, phase, lower)
            if lower_cut is not None:
                caches.append(self._feature_cache(lower_cut))
        caches.append(self._feature_cache(cut, source=caches[0] if caches else None))
        return self._fit(model, cut, caches, data, fit_kwargs, phase)

    def _say(self, message: str) -> None:
        if self._verbose:
            print(message)

    def _plain(self, model, phase: Phase, data: Prepared, fit_kwargs, why: str):
        self.report[phase.number] = f"fit ({why})"
        train = data.train
        if self.batch_size == "auto" and all(d is not None for d in model.input_shape[1:]):
            size = self._batch_size(model, phase, data)
            train = train.unbatch().batch(size).prefetch(tf.data.AUTOTUNE)
        return model.fit(train, validation_data=data.val, **fit_kwargs)

    def _batch_size(self, trains: keras.Model, phase: Phase, data: Prepared) -> int:
        if self.batch_size is None:
            return data.batch_size
        if self.batch_size != "auto":
            return self.batch_size
        from kerasft.cache.batch_size import find_batch_size

        found = find_batch_size(trains, start=16, limit=512)
        self._say(
            f"kerasft batch size: phase {phase.number}: {found.batch_size} (best "
            f"{found.goal}, found in {found.seconds:.0f}s)"
        )
        return found.batch_size

    # -- data -------------------------------------------------------------------------------

    def _data(self, what: str, data: Prepared):
        """`(images, targets, row hashes)` of the train or validation data, once per run.

        Data given as a `tf.data.Dataset` is never collected: its images stay None and its
        targets and hashes are filled in when the first cache streams it (`_features`).
        """
        if what not in self._rows_of:
            arrays = data.train_arrays if what == "train" else data.val_arrays
            ds = data.train if what == "train" else data.val
            if arrays is not None:
                self._rows_of[what] = (*arrays, row_hashes(arrays[0]))
            else:
                self._rows_of[what] = None if ds is None else (None, None, None)
        return self._rows_of[what]

    def _sample(self, data: Prepared) -> np.ndarray:
        """A few training images, to check whether the layers before a cut are random."""
        if data.train_arrays is not None:
            return data.train_arrays[0][:4]
        for x, _ in data.train.take(1).as_numpy_iterator():
            return x[:4]
        raise KerasftError("The training pipeline yielded no images.")

    def _order(self, n: int, data: Prepared) -> tf.data.Dataset:
        # One shuffle for the whole run: phase 2 goes on with the permutations phase 1 left.
        if data.order is not None:
            return data.order
        if self._collected_order is None:
            self._collected_order = shuffled(tf.data.Dataset.range(n), n, data.seed)
        return self._collected_order

    def _features(self, caches: list[FeatureCache], what: str, data: Prepared):
        """Features of the train/val rows at the last of `caches` (each feeds the next)."""
        got = self._data(what, data)
        if got is None:
            return None, None
        x, targets, hashes = got
        rows = None
        for i, cache in enumerate(caches):
            if i == 0 and x is None:
                # A pipeline: reuse what an earlier phase streamed, else stream it (again).
                rows = cache.lookup(hashes) if hashes is not None else None
                if rows is None:
                    ds = data.train if what == "train" else data.val
                    streamed = cache.stream(ds.as_numpy_iterator(), total=_images(ds), what=what)
                    if streamed is None:
                        return None, None
                    rows, hashes, targets = streamed
                    targets = targets.astype("float32")
                    self._rows_of[what] = (None, targets, hashes)
            else:
                rows = cache.features(x, hashes, source_rows=rows, what=what)
            if rows is None:
                return None, None
        return rows, targets

    # -- caches and cuts --------------------------------------------------------------------

    def _feature_cache(self, cut: ModelCut, source: FeatureCache | None = None) -> FeatureCache:
        return FeatureCache(
            cut,
            self.mode,
            root=self.cache_dir,
            dtype=self.dtype,
            views=self.views,
            batch_size=self.extract_batch_size,
            source=source,
            verbose=self._verbose,
        )

    def _next_phase_block(self, model, phase: Phase) -> str | None:
        """The block below the next phase's trainable blocks, or None (no phase-2 cache)."""
        later = [p for p in self._plan if p.first_epoch >= phase.last_epoch and p.epochs]
        n = later[0].unfreeze_blocks if later else 0
        names = list(block_map(get_backbone(model)))
        if n == "all" or not isinstance(n, int) or n <= 0 or n >= len(names):
            return None
        return names[len(names) - n - 1]

    def _frozen_block_below(self, model) -> str | None:
        """The last frozen block below the trainable blocks, or None (no cut)."""
        names = list(block_map(get_backbone(model)))
        chosen = trainable_blocks(model)
        if not chosen or names.index(chosen[0]) == 0:
            return None
        return names[names.index(chosen[0]) - 1]

    def _cut(self, model, phase: Phase, after_block: str | None) -> ModelCut | None:
        try:
            return ModelCut(model, after_block=after_block)
        except KerasftError as err:
            self._say(f"kerasft cache: phase {phase.number}: {err} Training without the cache.")
            return None

    def _usable(self, cut: ModelCut, sample: np.ndarray, phase: Phase) -> bool:
        if cut.prefix_variables():
            self._say(
                f"kerasft cache: phase {phase.number}: layers before {cut.name} are "
                "trainable; training without the cache."
            )
            return False
        if self.views == 1 and not cut.is_deterministic(sample):
            self._say(
                f"kerasft cache: phase {phase.number}: random augmentation runs before the "
                "backbone, so features cannot be computed once. Training without the cache "
                "(pass views=K to cache K augmented views per image)."
            )
            return False
        return True

    # -- fit --------------------------------------------------------------------------------

    def _fit(self, model, cut: ModelCut, caches, data: Prepared, fit_kwargs, phase: Phase):
        rows, targets = self._features(caches, "train", data)
        if rows is None:
            return self._plain(model, phase, data, fit_kwargs, "cache off")
        fast = self.fast_kernels and not has_gpu()
        trains = with_fast_kernels(cut.suffix) if fast else cut.suffix
        batch_size = self._batch_size(trains, phase, data)
        val_data = None
        if data.val is not None:
            val_rows, val_targets = self._features(caches, "val", data)
            val_data = feature_dataset(
                val_rows, val_targets, batch_size=max(batch_size, 256), views=self.views
            )
        train_data = feature_dataset(
            rows,
            targets,
            batch_size=batch_size,
            shuffle=True,
            seed=data.seed,
            views=self.views,
            order=self._order(len(rows), data),
        )
        arguments = compat.compile_arguments(model)
        arguments["optimizer"] = model.optimizer  # shared: LR callbacks and state reach it
        trains.compile(**arguments)
        build_metrics(model, targets)
        build_before_fit(trains, targets)
        kwargs = dict(fit_kwargs)
        relay = CallbackRelay(kwargs.pop("callbacks", None), model=model, runner=trains)
        history = trains.fit(train_data, validation_data=val_data, callbacks=[relay], **kwargs)
        history.set_model(model)
        model.history = history
        self.report[phase.number] = f"cached at {cut.name} {tuple(cut.feature_shape)}"
        return history
