"""Gradual unfreezing (ULMFiT): unfreeze blocks from the top on an epoch schedule, in one `fit`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import keras

from kerasft import compat
from kerasft.errors import KerasftError
from kerasft.optimizers._inner import model_optimizer
from kerasft.optimizers.layer_groups import NORMALIZATION, layer_groups, parents
from kerasft.optimizers.state import add_trainable_variables


def _set_trainable_keep_children(layer: keras.layers.Layer, value: bool) -> None:
    # Setting `trainable` on a container cascades to every sub-layer; keep their own flags.
    flags = [(sub, sub.trainable) for sub in compat.sublayers(layer)]
    layer.trainable = value
    for sub, flag in flags:
        sub.trainable = flag


def unfreeze_layers(
    model: keras.Model, layers: Sequence[keras.layers.Layer], train_bn: bool = False
) -> None:
    """Make `layers` (and their sub-layers) trainable, BatchNorm excepted unless `train_bn`.

    Their containers (a nested backbone) become trainable too, without unfreezing anything
    else inside them.
    """
    parent_of = parents(model)
    for layer in layers:
        layer.trainable = True
        if not train_bn:
            for sub in compat.sublayers(layer, include_self=True):
                if isinstance(sub, NORMALIZATION):
                    sub.trainable = False
        parent = parent_of.get(id(layer))
        while parent is not None:
            if not parent.trainable:
                _set_trainable_keep_children(parent, True)
            parent = parent_of.get(id(parent))


def _is_frozen(group: Sequence[keras.layers.Layer]) -> bool:
    """True when some weighted, non-BatchNorm layer of the group is frozen."""
    for layer in group:
        for sub in compat.sublayers(layer, include_self=True):
            leaf = not compat.sublayers(sub)
            if leaf and sub.weights and not isinstance(sub, NORMALIZATION) and not sub.trainable:
                return True
    return False


class GradualUnfreezing(keras.callbacks.Callback):
    """Unfreeze the model's frozen blocks from the top down, on an epoch schedule, during a
    single `fit` (ULMFiT's gradual unfreezing).

    At the start of the scheduled epochs the top n frozen blocks become trainable (BatchNorm
    layers stay frozen unless `train_bn`). The optimizer gets slots for the new weights while
    keeping its state (Adam moments, momentum) for the weights that were already training, and
    the train function is rebuilt, so the new weights really train from that epoch on.

    Epochs count from the first epoch of the `fit` call (so the same schedule works in
    kerasft's phase 2, which starts at `initial_epoch` > 0).

    Args:
        schedule: `{epoch: n}`: from `epoch` on, the top `n` blocks (or "all") are unfrozen,
            e.g. `{1: 1, 3: 2, 5: "all"}`.
        every, blocks_per_step: or: unfreeze `blocks_per_step` more blocks every `every`
            epochs (at epochs every, 2*every, ...).
        blocks: the blocks, bottom to top: a list whose items are a layer, a layer name, a
            name prefix, or a list of those. By default the blocks of the backbone
            (`kft.backbones.block_map`; for a plain Keras model, even groups of its weighted
            layers); of those, the ones with frozen weights when training starts are used.
        train_bn: also unfreeze BatchNorm layers.
        lr_factor: multiply the optimizer's learning rate by this at each unfreezing step
            (a schedule callback placed later in the list overrides it per batch).
        verbose: 1 prints what was unfrozen.

    The history of what happened is in `self.events`: `(epoch, n_blocks, [layer names])`;
    the epoch logs get "unfrozen_blocks".

    Example:

    >>> import keras, numpy as np
    >>> import kerasft as kft
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, name="a"),
    ...                           keras.layers.Dense(8, name="b"), keras.layers.Dense(1, name="head")])
    >>> for layer in model.layers[:2]:
    ...     layer.trainable = False
    >>> model.compile(keras.optimizers.Adam(1e-3), "mse")
    >>> unfreeze = kft.callbacks.GradualUnfreezing({1: 1, 2: "all"}, blocks=["a", "b"])
    >>> _ = model.fit(np.ones((8, 4)), np.ones((8, 1)), epochs=3, callbacks=[unfreeze], verbose=0)
    >>> [(epoch, names) for epoch, _, names in unfreeze.events]
    [(1, ['b']), (2, ['a'])]
    """

    # The cached runner trains only what was trainable when the phase began: a phase with
    # this callback runs the plain `fit` (kerasft/cache/runner.py).
    changes_trainable = True

    def __init__(
        self,
        schedule: Mapping[int, int | str] | None = None,
        every: int | None = None,
        blocks_per_step: int = 1,
        blocks: Sequence | None = None,
        train_bn: bool = False,
        lr_factor: float | None = None,
        verbose: int = 0,
    ):
        super().__init__()
        if (schedule is None) == (every is None):
            raise KerasftError(
                "GradualUnfreezing takes exactly one of schedule={epoch: n_blocks} or "
                f"every=K (with blocks_per_step); got schedule={schedule!r}, every={every!r}."
            )
        if schedule is not None:
            schedule = self._check_schedule(schedule)
        if every is not None and (not isinstance(every, int) or every < 1):
            raise KerasftError(f"every={every!r} must be a positive integer number of epochs.")
        if not isinstance(blocks_per_step, int) or blocks_per_step < 1:
            raise KerasftError(f"blocks_per_step={blocks_per_step!r} must be a positive integer.")
        if lr_factor is not None and not lr_factor > 0:
            raise KerasftError(f"lr_factor={lr_factor!r} must be positive.")
        self.schedule = schedule
        self.every = every
        self.blocks_per_step = blocks_per_step
        self.blocks = blocks
        self.train_bn = train_bn
        self.lr_factor = lr_factor
        self.verbose = verbose
        self.events: list[tuple[int, int, list[str]]] = []
        self._groups: list[list[keras.layers.Layer]] = []
        self._unfrozen = 0
        self._first_epoch: int | None = None

    @staticmethod
    def _check_schedule(schedule) -> dict[int, int | str]:
        if not isinstance(schedule, Mapping) or not schedule:
            raise KerasftError(
                f"schedule={schedule!r} must be a non-empty mapping {{epoch: n_blocks or 'all'}}."
            )
        checked, last = {}, 0
        for epoch in sorted(schedule, key=int):
            n = schedule[epoch]
            if int(epoch) < 0:
                raise KerasftError(f"schedule epoch {epoch!r} must be >= 0.")
            if n != "all" and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
                raise KerasftError(
                    f"schedule[{epoch!r}]={n!r} must be a positive number of blocks or 'all'."
                )
            size = float("inf") if n == "all" else n
            if size < last:
                raise KerasftError(
                    f"schedule={dict(schedule)!r} must not shrink: unfreezing never refreezes."
                )
            last = size
            checked[int(epoch)] = n
        return checked

    def _target(self, relative_epoch: int) -> int:
        n_blocks = len(self._groups)
        if self.schedule is not None:
            target = 0
            for epoch, n in self.schedule.items():
                if epoch <= relative_epoch:
                    target = n_blocks if n == "all" else n
        else:
            target = (relative_epoch // self.every) * self.blocks_per_step
        return min(target, n_blocks)

    def on_train_begin(self, logs=None):
        model_optimizer(self.model, "GradualUnfreezing")
        groups = layer_groups(self.model, self.blocks, include_head=False)
        if self.blocks is None:
            groups = [group for group in groups if _is_frozen(group)]
        self._groups = groups
        self._unfrozen = 0
        self._first_epoch = None
        self.events = []

    def on_epoch_begin(self, epoch, logs=None):
        if self._first_epoch is None:
            self._first_epoch = epoch
        target = self._target(epoch - self._first_epoch)
        if target <= self._unfrozen:
            return
        newly = self._groups[len(self._groups) - target : len(self._groups) - self._unfrozen]
        layers = [layer for group in newly for layer in group]
        unfreeze_layers(self.model, layers, self.train_bn)
        add_trainable_variables(self.model.optimizer, self.model.trainable_variables)
        self.model.make_train_function(force=True)
        # What a recompile would record: the train function now trains this set, so
        # Keras's and kerasft's "changed since compile" warnings must not fire later.
        compat.record_trainable_state(self.model)
        if self.lr_factor is not None:
            optimizer = self.model.optimizer
            lr = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
            optimizer.learning_rate = lr * self.lr_factor
        self._unfrozen = target
        names = [layer.name for layer in layers]
        self.events.append((epoch, target, names))
        if self.verbose:
            compat.print_msg(
                f"Epoch {epoch + 1}: unfroze {len(newly)} block(s) ({target}/{len(self._groups)} "
                f"now trainable): {', '.join(names)}."
            )

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["unfrozen_blocks"] = self._unfrozen

    def get_config(self) -> dict:
        blocks = self.blocks
        if blocks is not None:
            blocks = [
                [getattr(item, "name", item) for item in b]
                if isinstance(b, (list, tuple))
                else getattr(b, "name", b)
                for b in blocks
            ]
        return {
            "schedule": dict(self.schedule) if self.schedule is not None else None,
            "every": self.every,
            "blocks_per_step": self.blocks_per_step,
            "blocks": blocks,
            "train_bn": self.train_bn,
            "lr_factor": self.lr_factor,
            "verbose": self.verbose,
        }

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        if config.get("schedule"):
            # JSON turns integer keys into strings.
            config["schedule"] = {int(k): v for k, v in config["schedule"].items()}
        return cls(**config)
