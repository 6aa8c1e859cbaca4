"""Every use of a Keras or KerasTuner private API in kerasft, each with the reason for it.

Nothing else in `kerasft/` touches a private attribute of Keras or KerasTuner: when a new
release renames or changes one, this module is the one place to fix, and
`tests/test_compat.py` fails loudly on the first call that no longer works. Where a public
API does the job, kerasft uses that instead.

Keras and KerasTuner are imported inside the functions: `kerasft.data` and the CLI's quick
commands import this module without paying for TensorFlow.

Example:

>>> import keras
>>> from kerasft import compat
>>> inner = keras.Sequential([keras.Input((3,), name="inner_x"), keras.layers.Dense(2, name="d")],
...                          name="inner")
>>> model = keras.Sequential([keras.Input((3,), name="x"), inner, keras.layers.Dense(1, name="top")])
>>> [layer.name for layer in compat.sublayers(model)]
['x', 'inner', 'd', 'inner_x', 'top']
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import keras


def _broken(function: str, what: str) -> RuntimeError:
    return RuntimeError(
        f"kerasft.compat.{function}: this version of Keras/KerasTuner no longer has {what}; "
        "update kerasft/compat.py."
    )


# -- fit's resume epoch ---------------------------------------------------------------------
# `BackupAndRestore` tells `fit` where to resume by setting `model._initial_epoch` when it
# restores a backup; `fit` reads it in place of its `initial_epoch` argument. Keras has no
# public way to read or clear it, and never clears it itself.


def resume_epoch(model: keras.Model) -> int | None:
    """The epoch a `BackupAndRestore` restore asked `model`'s next `fit` to start at.

    Args:
        model: the model `BackupAndRestore` restored (None when nothing was restored).
    """
    return getattr(model, "_initial_epoch", None)


def set_resume_epoch(model: keras.Model, epoch: int | None) -> None:
    """Set (or with None clear) the epoch `model`'s running `fit` resumes at.

    Cleared before each phase (a resumed phase 1 would otherwise start phase 2 at its
    epoch), and moved from the full model to the cut that trains on cached features.

    Args:
        model: the model whose `fit` reads the epoch.
        epoch: the epoch to start at, or None for `fit`'s own `initial_epoch`.
    """
    model._initial_epoch = epoch


# -- compile arguments ----------------------------------------------------------------------
# The cut that trains on cached features is compiled with the full model's loss, metrics and
# *the same optimizer object* (LR callbacks and optimizer state must reach it). The public
# `get_compile_config()` serializes the optimizer, so rebuilding from it would make a new one.


def compile_arguments(model: keras.Model) -> dict[str, Any]:
    """The keyword arguments `model.compile` was last called with.

    Args:
        model: a compiled model.
    """
    config = getattr(model, "_compile_config", None)
    if config is None or not hasattr(config, "config"):
        raise _broken("compile_arguments", "`model._compile_config.config`")
    return dict(config.config)


# -- sub-layers -----------------------------------------------------------------------------
# Only `keras.Model` has a public `layers` (its direct children); a plain `Layer` that holds
# sub-layers exposes none, and nothing public walks the nesting. `_flatten_layers` does both.


def sublayers(
    layer: keras.layers.Layer, include_self: bool = False, recursive: bool = True
) -> list[keras.layers.Layer]:
    """The layers inside `layer`, each once, `InputLayer`s included (`model.layers` leaves
    out a Sequential's).

    Args:
        layer: a layer or model.
        include_self: put `layer` itself first.
        recursive: also the layers inside those layers (else only the direct children).
    """
    return list(layer._flatten_layers(include_self=include_self, recursive=recursive))


# -- the functional graph -------------------------------------------------------------------
# Following a functional model's graph backwards (which layer made a tensor, what went into a
# layer at one of its calls) needs the nodes Keras records; the public `layer.input` and
# `layer.output` give the first call's tensors only and raise for a layer called twice.


def tensor_history(tensor: Any) -> tuple[Any, int, int] | None:
    """`(layer, node_index, tensor_index)` that produced a symbolic tensor, or None.

    Args:
        tensor: a `keras.KerasTensor` of a functional model (anything else gives None).
    """
    history = getattr(tensor, "_keras_history", None)
    return tuple(history) if history else None


def inbound_nodes(layer: keras.layers.Layer) -> list[Any]:
    """The nodes of `layer`: one per call on symbolic tensors, each with `input_tensors`,
    `output_tensors` and `operation`.

    Args:
        layer: a layer of a functional model.
    """
    return list(layer._inbound_nodes)


def nodes_by_depth(model: keras.Model) -> dict[int, list]:
    """`{depth: nodes}` of a functional `model`'s own graph (each layer call in it); depth 0
    holds the calls that make the outputs.

    Args:
        model: a functional (or Sequential) model.
    """
    return {depth: list(nodes) for depth, nodes in model._nodes_by_depth.items()}


# -- what was trainable at compile ----------------------------------------------------------
# Keras trains what was trainable when `compile` ran and keeps that set in
# `model._compiled_trainable_state` (layer -> flag); it is how a stale compile is detected,
# and a callback that rebuilds the train function itself must update it, as compile would.


def compiled_trainable_state(model: keras.Model) -> dict | None:
    """`{layer: trainable}` as it was at the last `compile`, or None before one.

    Args:
        model: any Keras model.
    """
    return getattr(model, "_compiled_trainable_state", None)


def record_trainable_state(model: keras.Model) -> None:
    """Record the layers' `trainable` flags now as the compiled ones, as `compile` would.

    Call it after `model.make_train_function(force=True)` made the train function train the
    current set. Does nothing to a model that was never compiled.

    Args:
        model: the model whose train function was rebuilt.
    """
    if compiled_trainable_state(model) is not None:
        model._compiled_trainable_state = {
            layer: layer.trainable for layer in sublayers(model, include_self=True)
        }


# -- optimizer variables and slots ----------------------------------------------------------
# Keras 3 optimizers build their slots once, for the variables trainable at the first step,
# and refuse any other variable later. Giving them slots for newly unfrozen weights, and
# telling which variable is which inside `update_step` (discriminative learning rates), needs
# the optimizer's variable index; no public API adds variables to a built optimizer.


def optimizer_variable_key(optimizer: keras.optimizers.Optimizer, variable: Any) -> Any:
    """The key `optimizer` knows `variable` by (stable across `tf.distribute` mirrors).

    Args:
        optimizer: a Keras optimizer (not a `LossScaleOptimizer` wrapper).
        variable: a model variable, or the backend variable `update_step` receives.
    """
    return optimizer._var_key(variable)


def optimizer_built_variables(optimizer: keras.optimizers.Optimizer) -> list:
    """The model variables `optimizer` was built for (has slots for), in build order.

    Args:
        optimizer: a Keras optimizer (not a `LossScaleOptimizer` wrapper).
    """
    return list(optimizer._trainable_variables)


def optimizer_slots(optimizer: keras.optimizers.Optimizer) -> list:
    """The variables `optimizer.build` made (moments, accumulators): all but its step count
    and its learning rate.

    Args:
        optimizer: a Keras optimizer (not a `LossScaleOptimizer` wrapper).
    """
    keep = {id(optimizer._iterations), id(optimizer._learning_rate)}
    return [v for v in optimizer.variables if id(v) not in keep]


def rebuild_optimizer(optimizer: keras.optimizers.Optimizer, variables: Iterable) -> None:
    """Drop `optimizer`'s slots and build it again for `variables`; the step count and the
    learning rate are kept, the new slots start from zero.

    Args:
        optimizer: a built Keras optimizer (not a `LossScaleOptimizer` wrapper).
        variables: the model variables to build slots for.
    """
    for slot in optimizer_slots(optimizer):
        optimizer._untrack_variable(slot)
    # `build` of every Keras optimizer returns early once built and only appends to the index.
    optimizer.built = False
    optimizer._trainable_variables_indices = {}
    optimizer.build(list(variables))


# -- preprocessing layers -------------------------------------------------------------------
# Keras exports no base class or flag for its preprocessing layers (Rescaling, Resizing,
# the Random* augmentations...); the package they are defined in is the one mark they share.


def is_keras_preprocessing_layer(layer: Any) -> bool:
    """Whether `layer` is one of Keras's own preprocessing layers.

    Args:
        layer: any object.
    """
    return type(layer).__module__.startswith("keras.src.layers.preprocessing")


# -- Keras's data directory -----------------------------------------------------------------
# `keras.datasets` download to `<Keras home>/datasets`; the home Keras settled on when it was
# imported (KERAS_HOME, or /tmp/.keras when that is not writable) is not exported.


def keras_home() -> str | None:
    """The directory the imported Keras keeps its data in, or None if Keras is not imported
    yet (it is not imported here: that costs seconds)."""
    import sys

    config = sys.modules.get("keras.src.backend.config")
    if config is None:
        return None
    return config.keras_home()


# -- printing like a Keras callback ---------------------------------------------------------
# Keras callbacks print through `io_utils.print_msg`: stdout with interactive logging on,
# absl logging otherwise (`keras.config.disable_interactive_logging`); only the switch is public.


def print_msg(message: str) -> None:
    """Print `message` (and a line break) where Keras's own callbacks print theirs.

    Args:
        message: the line to print.
    """
    from keras.src.utils import io_utils

    io_utils.print_msg(message)


# -- KerasTuner chief/worker mode -----------------------------------------------------------
# KerasTuner's distributed search (a chief process serving the oracle over gRPC to workers)
# has no public API besides its environment variables; kerasft serves the oracle itself (a
# faster poll, isolated worker processes) with KerasTuner's own servicer and role checks.


def has_chief_oracle() -> bool:
    """Whether this process takes part in a chief/worker search (KERASTUNER_ORACLE_IP set)."""
    from keras_tuner.src.distribute import utils

    return bool(utils.has_chief_oracle())


def is_chief_oracle() -> bool:
    """Whether this process is the chief of a chief/worker search."""
    from keras_tuner.src.distribute import utils

    return bool(utils.is_chief_oracle())


def add_oracle_servicer(oracle: Any, server: Any) -> Any:
    """Serve `oracle` on the gRPC `server` (not started yet); returns the servicer.

    Args:
        oracle: a KerasTuner oracle.
        server: a `grpc.server(...)`.
    """
    from keras_tuner.src import protos
    from keras_tuner.src.distribute.oracle_chief import OracleServicer

    servicer = OracleServicer(oracle)
    protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
    return servicer


def oracle_search_over(servicer: Any) -> bool:
    """Whether the oracle behind `servicer` answered a worker that the search is over.

    Args:
        servicer: what `add_oracle_servicer` returned.
    """
    return bool(servicer.stop_triggered)


# -- KerasTuner's trial retries -------------------------------------------------------------
# A trial whose worker process died is not a failed trial: it must run again, from its last
# checkpoint. The public `oracle.end_trial` would count it as a failure (and, with the default
# `max_retries_per_trial=0`, never rerun it); the oracle's retry queue reruns it as is.


def queue_trial_retry(oracle: Any, trial_id: str) -> None:
    """Make `trial_id` the next trial `oracle.create_trial` hands out (for any tuner).

    Args:
        oracle: a KerasTuner oracle.
        trial_id: a trial of that oracle, no longer running.
    """
    oracle._retry_queue.append(trial_id)


# -- KerasTuner's best-epoch checkpoint -----------------------------------------------------
# `Tuner.run_trial` adds a `SaveBestEpoch` callback to the callbacks it hands to `fit`; a
# resumed trial must give it the best value from before the restart. Its class is not exported.


def best_epoch_savers(callbacks: Iterable) -> list:
    """The KerasTuner best-epoch checkpoints among `callbacks` (each has `objective`,
    `filepath` and `best_value`).

    Args:
        callbacks: the callbacks a KerasTuner trial passed to `fit`.
    """
    from keras_tuner.src.engine.tuner_utils import SaveBestEpoch

    return [callback for callback in callbacks if isinstance(callback, SaveBestEpoch)]
