"""`kerasft/compat.py` is the one place that touches Keras's and KerasTuner's private APIs.

Each compat function is exercised here on a real small model, optimizer or oracle, and its
assertion names the function: when a new Keras or KerasTuner release changes a private API,
the failure says which function to fix in kerasft/compat.py. The last tests scan kerasft/
and the plugins for private accesses anywhere else.
"""

from __future__ import annotations

import ast
import inspect
import os
import re
import shutil
import sys
from pathlib import Path

import keras
import keras_tuner as kt
import numpy as np

from kerasft import compat

ROOT = Path(__file__).resolve().parents[1]


def broken(function: str, what: str) -> str:
    return f"kerasft.compat.{function}: {what}; update kerasft/compat.py for this Keras/KerasTuner"


def small_model() -> keras.Model:
    inputs = keras.Input((4,))
    x = keras.layers.Dense(3, name="hidden")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    outputs = keras.layers.Dense(2, activation="softmax", name="out")(x)
    return keras.Model(inputs, outputs, name="small")


def nested_model() -> keras.Model:
    inner = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3, name="d1"), keras.layers.Dense(3, name="d2")],
        name="inner",
    )
    inputs = keras.Input((4,))
    return keras.Model(inputs, keras.layers.Dense(2, name="top")(inner(inputs)), name="outer")


def fit_once(model: keras.Model, **kwargs):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 4)).astype("float32"), np.zeros((8, 2), "float32")
    return model.fit(x, y, batch_size=4, epochs=kwargs.pop("epochs", 1), verbose=0, **kwargs)


# -- fit's resume epoch ---------------------------------------------------------------------


def test_resume_epoch_is_what_backup_and_restore_sets_and_fit_reads(tmp_path):
    model = small_model()
    model.compile("sgd", "mse")
    backup = keras.callbacks.BackupAndRestore(str(tmp_path), delete_checkpoint=False)
    fit_once(model, epochs=2, callbacks=[backup])
    fresh = small_model()
    fresh.compile("sgd", "mse")
    assert compat.resume_epoch(fresh) is None, broken("resume_epoch", "None before any restore")
    seen = []
    probe = keras.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: seen.append(epoch))
    fit_once(fresh, epochs=3, callbacks=[keras.callbacks.BackupAndRestore(str(tmp_path)), probe])
    assert compat.resume_epoch(fresh) == 2, broken(
        "resume_epoch", "BackupAndRestore no longer sets model._initial_epoch on restore"
    )
    assert seen == [2], broken("resume_epoch", f"the restored fit ran epochs {seen}, not [2]")

    # fit reads the epoch set on the model in place of its own initial_epoch.
    compat.set_resume_epoch(fresh, 1)
    seen.clear()
    fit_once(fresh, epochs=3, callbacks=[probe])
    assert seen == [1, 2], broken(
        "set_resume_epoch", f"fit ran epochs {seen} after set_resume_epoch(model, 1), not [1, 2]"
    )
    compat.set_resume_epoch(fresh, None)
    seen.clear()
    fit_once(fresh, epochs=2, callbacks=[probe])
    assert seen == [0, 1], broken("set_resume_epoch", f"clearing it left fit at epochs {seen}")


# -- compile arguments ----------------------------------------------------------------------


def test_compile_arguments_keep_the_optimizer_object():
    model = small_model()
    optimizer = keras.optimizers.Adam(1e-3)
    model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
    arguments = compat.compile_arguments(model)
    assert arguments["optimizer"] is optimizer, broken(
        "compile_arguments", "model._compile_config.config no longer holds the optimizer object"
    )
    assert arguments["loss"] == "categorical_crossentropy", broken(
        "compile_arguments", f"unexpected loss {arguments.get('loss')!r}"
    )
    assert arguments["metrics"] == ["accuracy"], broken("compile_arguments", str(arguments))


# -- sub-layers -----------------------------------------------------------------------------


def test_sublayers_walk_the_nesting():
    model = nested_model()
    inner = model.get_layer("inner")
    names = [layer.name for layer in compat.sublayers(model)]
    for name in ("inner", "d1", "d2", "top"):
        assert name in names, broken("sublayers", f"{name!r} missing from {names}")
    direct = [layer.name for layer in compat.sublayers(model, recursive=False)]
    assert "inner" in direct and "d1" not in direct, broken(
        "sublayers", f"recursive=False gave {direct}"
    )
    with_self = compat.sublayers(inner, include_self=True)
    assert with_self[0] is inner, broken("sublayers", "include_self=True does not put it first")
    assert not compat.sublayers(inner.get_layer("d1")), broken(
        "sublayers", "a Dense layer should have no sub-layers"
    )


# -- the functional graph -------------------------------------------------------------------


def test_graph_access_follows_a_functional_model():
    model = small_model()
    layer, node_index, tensor_index = compat.tensor_history(model.outputs[0])
    assert layer is model.get_layer("out") and (node_index, tensor_index) == (0, 0), broken(
        "tensor_history", "KerasTensor._keras_history no longer names the producing layer"
    )
    assert compat.tensor_history(np.ones(2)) is None, broken("tensor_history", "not None")

    out = model.get_layer("out")
    nodes = compat.inbound_nodes(out)
    assert len(nodes) == 1, broken("inbound_nodes", f"one call, {len(nodes)} nodes")
    (feeding,) = nodes[0].input_tensors
    assert compat.tensor_history(feeding)[0] is model.get_layer("bn"), broken(
        "inbound_nodes", "node.input_tensors no longer holds the layer's input"
    )
    assert nodes[0].output_tensors[0] is model.outputs[0], broken(
        "inbound_nodes", "node.output_tensors no longer holds the layer's output"
    )

    # A layer called twice, in two models, has a node for each call.
    shared = keras.layers.Dense(2, name="shared")
    first = keras.Input((3,))
    shared(first)
    second = keras.Input((3,))
    shared(second)
    assert len(compat.inbound_nodes(shared)) == 2, broken("inbound_nodes", "two calls")

    by_depth = compat.nodes_by_depth(model)
    assert isinstance(by_depth, dict) and 0 in by_depth, broken(
        "nodes_by_depth", f"model._nodes_by_depth is {type(by_depth).__name__} without depth 0"
    )
    operations = {node.operation.name for nodes in by_depth.values() for node in nodes}
    assert {"hidden", "bn", "out"} <= operations, broken("nodes_by_depth", str(operations))
    assert [n.operation.name for n in by_depth[0]] == ["out"], broken(
        "nodes_by_depth", "depth 0 should hold the output layer's call"
    )


# -- what was trainable at compile ----------------------------------------------------------


def test_compiled_trainable_state_follows_compile():
    model = small_model()
    assert compat.compiled_trainable_state(model) is None, broken(
        "compiled_trainable_state", "a model never compiled should have none"
    )
    model.compile("sgd", "mse")
    state = compat.compiled_trainable_state(model)
    hidden = model.get_layer("hidden")
    assert isinstance(state, dict) and state.get(hidden) is True, broken(
        "compiled_trainable_state", "model._compiled_trainable_state is no {layer: trainable}"
    )
    hidden.trainable = False
    assert compat.compiled_trainable_state(model)[hidden] is True, broken(
        "compiled_trainable_state", "it changed with layer.trainable, before a compile"
    )
    compat.record_trainable_state(model)
    assert compat.compiled_trainable_state(model)[hidden] is False, broken(
        "record_trainable_state", "did not record the new flag"
    )
    # kerasft's recompile guard reads it: no change left to warn about.
    from kerasft.training.guard import stale_layers

    assert stale_layers(model) == []

    never = small_model()
    compat.record_trainable_state(never)
    assert not hasattr(never, "_compiled_trainable_state") or (
        compat.compiled_trainable_state(never) is None
    ), broken("record_trainable_state", "it gave a never-compiled model a compile state")


# -- optimizer variables and slots ----------------------------------------------------------


def built_adam(model: keras.Model) -> keras.optimizers.Optimizer:
    model.compile(keras.optimizers.Adam(0.01), "mse")
    fit_once(model)
    return model.optimizer


def test_optimizer_variable_key_and_built_variables():
    model = small_model()
    optimizer = built_adam(model)
    built = compat.optimizer_built_variables(optimizer)
    assert [v.path for v in built] == [v.path for v in model.trainable_variables], broken(
        "optimizer_built_variables", "optimizer._trainable_variables is not the trained set"
    )
    keys = [compat.optimizer_variable_key(optimizer, v) for v in built]
    assert len(set(keys)) == len(keys), broken("optimizer_variable_key", "keys collide")
    variable = built[0]
    # On TensorFlow update_step may receive the tf.Variable; it must map to the same key.
    assert (
        keras.backend.backend() != "tensorflow"
        or compat.optimizer_variable_key(optimizer, variable.value) == keys[0]
    ), broken("optimizer_variable_key", "the backend variable and the Keras variable differ")


def test_optimizer_slots_and_rebuild_keep_step_and_learning_rate():
    model = small_model()
    model.get_layer("hidden").trainable = False
    optimizer = built_adam(model)
    slots = compat.optimizer_slots(optimizer)
    slot_ids = {id(v) for v in slots}
    assert id(optimizer.iterations) not in slot_ids, broken(
        "optimizer_slots", "the step counter (optimizer._iterations) counted as a slot"
    )
    assert id(optimizer.learning_rate) not in slot_ids, broken(
        "optimizer_slots", "the learning rate (optimizer._learning_rate) counted as a slot"
    )
    # Adam: a first and a second moment per trained variable.
    assert len(slots) == 2 * len(model.trainable_variables), broken(
        "optimizer_slots", f"{len(slots)} slots for {len(model.trainable_variables)} variables"
    )

    steps = int(optimizer.iterations.numpy())
    model.get_layer("hidden").trainable = True
    compat.rebuild_optimizer(optimizer, model.trainable_variables)
    assert len(compat.optimizer_slots(optimizer)) == 2 * len(model.trainable_variables), broken(
        "rebuild_optimizer", "the rebuilt optimizer has no slots for the new variables"
    )
    assert len(optimizer.variables) == len(compat.optimizer_slots(optimizer)) + 2, broken(
        "rebuild_optimizer", "old slots are still tracked (optimizer._untrack_variable)"
    )
    assert int(optimizer.iterations.numpy()) == steps, broken("rebuild_optimizer", "step lost")
    # Keras now accepts gradients for the newly trainable weights.
    model.make_train_function(force=True)
    hidden = model.get_layer("hidden").kernel
    before = hidden.numpy().copy()
    fit_once(model)
    assert not np.allclose(before, hidden.numpy()), broken(
        "rebuild_optimizer", "the newly trainable kernel did not train"
    )


def test_add_trainable_variables_keeps_the_old_moments():
    # kerasft's use of the four optimizer functions together (GradualUnfreezing's path).
    from kerasft.optimizers.state import add_trainable_variables

    model = small_model()
    model.get_layer("hidden").trainable = False
    optimizer = built_adam(model)
    before = {v.path: v.numpy().copy() for v in compat.optimizer_slots(optimizer)}
    model.get_layer("hidden").trainable = True
    added = add_trainable_variables(optimizer, model.trainable_variables)
    assert {v.path for v in added} == {v.path for v in model.get_layer("hidden").weights}
    after = {v.path: v.numpy() for v in compat.optimizer_slots(optimizer)}
    for path, value in before.items():
        np.testing.assert_array_equal(after[path], value, err_msg=path)
    assert add_trainable_variables(optimizer, model.trainable_variables) == []


# -- preprocessing layers, Keras home, printing ---------------------------------------------


def test_is_keras_preprocessing_layer():
    for layer in (
        keras.layers.Rescaling(1 / 255),
        keras.layers.Resizing(8, 8),
        keras.layers.RandomFlip(),
        keras.layers.Normalization(),
    ):
        assert compat.is_keras_preprocessing_layer(layer), broken(
            "is_keras_preprocessing_layer", f"{type(layer).__module__} is not where it was"
        )
    assert not compat.is_keras_preprocessing_layer(keras.layers.Dense(1))
    assert not compat.is_keras_preprocessing_layer(keras.layers.Dropout(0.1))


def test_keras_home_is_where_keras_downloads_go(tmp_path):
    home = compat.keras_home()
    assert isinstance(home, str), broken("keras_home", f"keras_home() gave {home!r}")
    # keras.utils.get_file (what keras.datasets use) caches under the same directory.
    source = tmp_path / "probe.txt"
    source.write_text("probe")
    subdir = f"kerasft-compat-probe-{os.getpid()}"
    path = Path(keras.utils.get_file("probe.txt", origin=source.as_uri(), cache_subdir=subdir))
    try:
        expected = Path(os.path.expanduser(home))
        if not os.access(expected, os.W_OK):
            expected = Path("/tmp/.keras")
        assert path.parent == expected / subdir, broken(
            "keras_home", f"Keras downloaded to {path.parent}, not under {expected}"
        )
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


def test_print_msg_prints_like_keras_callbacks(capsys):
    compat.print_msg("kerasft says hello")
    assert capsys.readouterr().out == "kerasft says hello\n", broken(
        "print_msg", "keras.src.utils.io_utils.print_msg no longer prints to stdout"
    )
    keras.config.disable_interactive_logging()
    try:
        compat.print_msg("to the log")
        assert capsys.readouterr().out == "", broken("print_msg", "printed with logging off")
    finally:
        keras.config.enable_interactive_logging()


def test_gradual_unfreezing_prints_when_verbose(capsys):
    # It printed through `keras.utils.io_utils`, which is no public module: verbose=1 crashed.
    from kerasft.callbacks.gradual_unfreezing import GradualUnfreezing

    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3, name="a"), keras.layers.Dense(2, name="b")]
    )
    model.layers[0].trainable = False
    model.compile("adam", "mse")
    fit_once(model, epochs=2, callbacks=[GradualUnfreezing({1: 1}, blocks=["a"], verbose=1)])
    assert "Epoch 2: unfroze 1 block(s) (1/1 now trainable): a." in capsys.readouterr().out


# -- KerasTuner -----------------------------------------------------------------------------


def test_chief_oracle_roles_follow_kerastuner_environment(monkeypatch):
    for name in ("KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT", "KERASTUNER_TUNER_ID"):
        monkeypatch.delenv(name, raising=False)
    assert not compat.has_chief_oracle() and not compat.is_chief_oracle(), broken(
        "has_chief_oracle", "chief/worker mode without KERASTUNER_ORACLE_IP"
    )
    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
    monkeypatch.setenv("KERASTUNER_ORACLE_PORT", "8000")
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "tuner0")
    assert compat.has_chief_oracle() and not compat.is_chief_oracle(), broken(
        "is_chief_oracle", "a worker (KERASTUNER_TUNER_ID=tuner0) taken for the chief"
    )
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "chief")
    assert compat.is_chief_oracle(), broken("is_chief_oracle", "the chief not recognized")


class _RecordingHyperModel(kt.HyperModel):
    def build(self, hp):
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(hp.Int("units", 1, 8))])
        model.compile("sgd", "mse")
        return model

    def fit(self, hp, model, *args, callbacks=None, **kwargs):
        self.callbacks = list(callbacks)
        return model.fit(*args, callbacks=callbacks, **kwargs)


def random_oracle(tmp_path, max_trials=3) -> kt.Oracle:
    """A real oracle, set up by its tuner (project directory, objective)."""
    tuner = kt.RandomSearch(
        _RecordingHyperModel(),
        objective=kt.Objective("score", "max"),
        max_trials=max_trials,
        seed=1,
        directory=str(tmp_path),
        project_name="compat",
    )
    return tuner.oracle


def test_queue_trial_retry_reruns_a_stranded_trial(tmp_path):
    oracle = random_oracle(tmp_path)
    trial = oracle.create_trial("worker0")
    # The worker process died: kerasft forgets it and queues its trial again.
    oracle.tuner_ids.discard("worker0")
    oracle.ongoing_trials.pop("worker0")
    compat.queue_trial_retry(oracle, trial.trial_id)
    again = oracle.create_trial("worker1")
    assert again.trial_id == trial.trial_id, broken(
        "queue_trial_retry", "oracle._retry_queue no longer makes create_trial rerun the trial"
    )
    assert again.hyperparameters.values == trial.hyperparameters.values
    oracle.update_trial(again.trial_id, {"score": 1.0})
    again.status = "COMPLETED"
    oracle.end_trial(again)
    assert oracle.create_trial("worker1").trial_id != trial.trial_id


def test_oracle_servicer_serves_and_says_when_the_search_is_over(tmp_path):
    from concurrent import futures

    import grpc

    oracle = random_oracle(tmp_path, max_trials=1)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    servicer = compat.add_oracle_servicer(oracle, server)
    assert compat.oracle_search_over(servicer) is False, broken(
        "oracle_search_over", "OracleServicer.stop_triggered is not False at start"
    )
    # What a worker's CreateTrial call does, without the network round trip.
    from keras_tuner.src import protos

    request = protos.get_service().CreateTrialRequest(tuner_id="worker0")
    first = servicer.CreateTrial(request, None)
    assert first.trial.trial_id, broken("add_oracle_servicer", "no trial served")
    oracle.update_trial(first.trial.trial_id, {"score": 1.0})
    ended = oracle.trials[first.trial.trial_id]
    ended.status = "COMPLETED"
    oracle.end_trial(ended)
    servicer.CreateTrial(request, None)  # max_trials=1: this one is STOPPED
    assert compat.oracle_search_over(servicer) is True, broken(
        "oracle_search_over", "stop_triggered not set after the oracle stopped the search"
    )


def test_best_epoch_savers_find_kerastuners_checkpoint(tmp_path, monkeypatch):
    # A local search: no chief/worker settings left over from another test of the session.
    for name in ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"):
        monkeypatch.delenv(name, raising=False)
    hypermodel = _RecordingHyperModel()
    tuner = kt.RandomSearch(
        hypermodel, objective="val_loss", max_trials=1, directory=str(tmp_path), project_name="p"
    )
    x, y = np.ones((4, 2), "float32"), np.zeros((4, 1), "float32")
    tuner.search(x, y, validation_data=(x, y), epochs=2, verbose=0)
    savers = compat.best_epoch_savers(hypermodel.callbacks)
    assert len(savers) == 1, broken(
        "best_epoch_savers", "Tuner.run_trial no longer adds its SaveBestEpoch callback"
    )
    (saver,) = savers
    assert saver.objective.name == "val_loss" and saver.objective.direction == "min", broken(
        "best_epoch_savers", "SaveBestEpoch.objective changed"
    )
    assert os.path.exists(saver.filepath) and np.isfinite(saver.best_value), broken(
        "best_epoch_savers", "SaveBestEpoch.filepath / best_value changed"
    )


# -- nothing else touches a private API -----------------------------------------------------

# Attributes kerasft sets, with this prefix, on objects it creates or wraps: the builder's
# `_kerasft_backbone` on a backbone it makes, the optimizer hooks' and schedules' state.
OWN_PREFIX = "_kerasft_"

# Private names that are not Keras's or KerasTuner's.
NOT_KERAS = {
    "_SubParsersAction",  # argparse's type for `add_subparsers()`, in the CLI's annotations
}

ENGINE_FILES_PENDING: set[str] = set()  # every file is scanned

PRIVATE_MODULES = re.compile(r"\b(keras|keras_tuner|kerastuner)\.src\b")


def source_files() -> list[Path]:
    files = sorted((ROOT / "kerasft").rglob("*.py"))
    for package in sorted((ROOT / "plugins").glob("*/kerasft_*")):
        files += sorted(package.rglob("*.py"))
    return files


def _kerasft_names(tree: ast.Module) -> set[str]:
    """Names bound by `from kerasft... import x` / `import kerasft.x as y`: kerasft's own."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("kerasft"):
            names |= {alias.asname or alias.name for alias in node.names}
        elif isinstance(node, ast.Import):
            names |= {a.asname for a in node.names if a.name.startswith("kerasft") and a.asname}
    return names


def _is_private(name: str) -> bool:
    return (
        name.startswith("_")
        and not name.startswith("__")
        and not name.startswith(OWN_PREFIX)
        and name not in NOT_KERAS
    )


def private_uses(path: Path) -> list[str]:
    """`file:line: what` for every private access of `path` on an object that is not `self`."""
    text = path.read_text()
    tree = ast.parse(text)
    own = _kerasft_names(tree) | {"self", "cls"}
    where = path.relative_to(ROOT).as_posix()
    found = []

    def owner_is_own(value: ast.expr) -> bool:
        if isinstance(value, ast.Name):
            return value.id in own
        # super()._x: a method of the class's own base, still a private API when Keras's.
        return False

    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _is_private(node.attr):
            if not owner_is_own(node.value):
                found.append(f"{where}:{node.lineno}: .{node.attr}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "setattr", "hasattr", "delattr")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and _is_private(node.args[1].value)
            and not owner_is_own(node.args[0])
        ):
            found.append(f"{where}:{node.lineno}: {node.func.id}(..., {node.args[1].value!r})")
        elif isinstance(node, ast.ImportFrom) and PRIVATE_MODULES.match(node.module or ""):
            found.append(f"{where}:{node.lineno}: from {node.module} import")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if PRIVATE_MODULES.match(alias.name):
                    found.append(f"{where}:{node.lineno}: import {alias.name}")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and PRIVATE_MODULES.search(node.value)
            and not _is_docstring(tree, node)
        ):
            found.append(f"{where}:{node.lineno}: {node.value!r}")
    return sorted(found, key=lambda use: int(use.split(":")[1]))


def _is_docstring(tree: ast.Module, constant: ast.Constant) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and body[0].value is constant:
                return True
    return False


def _keras_classes(klass: type) -> list[type]:
    return [
        base for base in klass.__mro__ if base.__module__.split(".")[0] in ("keras", "keras_tuner")
    ]


def inherited_private_uses(path: Path) -> list[str]:
    """`self._x` in a kerasft subclass of a Keras/KerasTuner class, where `_x` is one of the
    base class's own private attributes or methods (it reads, sets or overrides Keras state)."""
    tree = ast.parse(path.read_text())
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    if not classes or path.name == "__main__.py":
        return []
    where = path.relative_to(ROOT)
    parts = where.with_suffix("").parts
    parts = parts[2:] if parts[0] == "plugins" else parts
    module_name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
    module = sys.modules.get(module_name) or __import__(module_name, fromlist=["_"])
    found = []
    for node in classes:
        klass = getattr(module, node.name, None)
        bases = _keras_classes(klass) if isinstance(klass, type) else []
        if not bases:
            continue
        base_source = "\n".join(inspect.getsource(base) for base in bases)
        base_names = set(re.findall(r"self\.(_[a-z]\w*)", base_source))
        base_names |= set(re.findall(r"def (_[a-z]\w*)", base_source))
        for sub in ast.walk(node):
            if (
                isinstance(sub, ast.Attribute)
                and isinstance(sub.value, ast.Name)
                and sub.value.id == "self"
                and sub.attr in base_names
            ):
                found.append(f"{where.as_posix()}:{sub.lineno}: self.{sub.attr} of {bases[0]}")
    return found


def scanned() -> list[Path]:
    return [
        path
        for path in source_files()
        if path.relative_to(ROOT).as_posix() not in ENGINE_FILES_PENDING
        and path.name != "compat.py"
    ]


def test_the_scan_finds_private_uses(tmp_path, monkeypatch):
    # A scan that found nothing anywhere would pass below on nothing.
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    sample = tmp_path / "kerasft" / "sample.py"
    sample.parent.mkdir()
    sample.write_text(
        "from keras_tuner.src.engine import tuner_utils\n"
        "from kerasft.data import keras_datasets\n"
        "def f(model, self_like):\n"
        "    model._flatten_layers()\n"
        "    getattr(model, '_initial_epoch', None)\n"
        "    keras_datasets._name('mnist')\n"
        "    model._kerasft_backbone = 'x'\n"
        "    return type(model).__module__.startswith('keras.src.layers')\n"
    )
    assert private_uses(sample) == [
        "kerasft/sample.py:1: from keras_tuner.src.engine import",
        "kerasft/sample.py:4: ._flatten_layers",
        "kerasft/sample.py:5: getattr(..., '_initial_epoch')",
        "kerasft/sample.py:8: 'keras.src.layers'",
    ]


def test_the_real_compat_module_is_seen_by_the_scan():
    # compat.py is the one file allowed: the scan must see its private uses.
    uses = private_uses(ROOT / "kerasft" / "compat.py")
    assert any("._flatten_layers" in use for use in uses), uses
    assert any("keras_tuner.src" in use for use in uses), uses
    assert all((ROOT / name).is_file() for name in ENGINE_FILES_PENDING), (
        "ENGINE_FILES_PENDING names a file that is gone: drop it from the list"
    )


def test_no_private_api_outside_compat():
    files = scanned()
    assert len(files) > 100
    found = [use for path in files for use in private_uses(path)]
    assert not found, (
        "Keras/KerasTuner private APIs used outside kerasft/compat.py; move each into a "
        "kerasft.compat function (with its reason and a test in tests/test_compat.py):\n"
        + "\n".join(found)
    )


def test_no_subclass_touches_its_keras_bases_private_state():
    files = scanned()
    found = [use for path in files for use in inherited_private_uses(path)]
    assert not found, (
        "kerasft subclasses read, set or override private attributes of their Keras/KerasTuner "
        "base; use the base's public hooks (super().on_epoch_end, set_model) or kerasft.compat:\n"
        + "\n".join(found)
    )


def test_the_subclass_scan_sees_a_keras_base(tmp_path, monkeypatch):
    # What EpochBackup did before it used BackupAndRestore's public on_epoch_end.
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    sample = tmp_path / "compat_scan_sample.py"
    sample.write_text(
        "import keras\n"
        "class Backup(keras.callbacks.BackupAndRestore):\n"
        "    def on_epoch_end(self, epoch, logs=None):\n"
        "        self._current_epoch = epoch + 1\n"
        "        self._since = 0\n"
        "        self._save_model()\n"
    )
    uses = inherited_private_uses(sample)
    assert [use.split(" of ")[0] for use in uses] == [
        "compat_scan_sample.py:4: self._current_epoch",
        "compat_scan_sample.py:6: self._save_model",
    ], uses
