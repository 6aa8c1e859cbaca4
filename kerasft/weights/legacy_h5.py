"""Write and check weight files in Keras's legacy HDF5 format, the one `keras.applications` loads.

`Model.load_weights("x.h5")` matches the file's layers that have weights to the model's layers that
have weights, in order, then sets each layer's weights in legacy order (trainable weights first).
The file needs a root attribute `layer_names` and, per layer, a group whose `weight_names`
attribute lists its datasets.

    import numpy as np
    from kerasft.weights.legacy_h5 import write_weights, read_layout
    write_weights("/tmp/w.h5", {"dense": {"dense/kernel:0": np.zeros((2, 3), "float32")}})
    read_layout("/tmp/w.h5")  # {"dense": [(2, 3)]}
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from importlib.metadata import version
from pathlib import Path

import h5py
import numpy as np

Layout = dict[str, list[tuple[int, ...]]]


def write_weights(
    path: str | Path,
    layers: Mapping[str, Mapping[str, np.ndarray]],
    attrs: Mapping[str, str] | None = None,
) -> Path:
    """Write `{layer_name: {weight_name: array}}` (both in model order) to `path` atomically.

    A half-written file is never left under `path`: the data goes to a temporary file first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with h5py.File(tmp, "w") as f:
            f.attrs["layer_names"] = [name.encode("utf8") for name in layers]
            f.attrs["backend"] = b"tensorflow"
            f.attrs["keras_version"] = version("keras").encode("utf8")
            for key, value in (attrs or {}).items():
                f.attrs[key] = value.encode("utf8")
            for layer_name, weights in layers.items():
                group = f.create_group(layer_name)
                group.attrs["weight_names"] = [name.encode("utf8") for name in weights]
                for weight_name, value in weights.items():
                    group.create_dataset(weight_name, data=np.asarray(value))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def read_layout(path: str | Path) -> Layout | None:
    """`{layer_name: [weight shapes]}` for the layers with weights, or None if unreadable.

    Reads metadata only, so checking a file costs milliseconds.
    """
    try:
        with h5py.File(path, "r") as f:
            group = f["model_weights"] if "model_weights" in f else f
            layout: Layout = {}
            for name in _names(group.attrs, "layer_names"):
                weight_names = _names(group[name].attrs, "weight_names")
                if weight_names:
                    layout[name] = [tuple(group[name][w].shape) for w in weight_names]
            return layout
    except (OSError, KeyError, ValueError):
        return None


def _names(attrs: h5py.AttributeManager, name: str) -> list[str]:
    # Keras splits long name lists into `name0`, `name1`, ... attributes.
    if name in attrs:
        chunks = [attrs[name]]
    else:
        chunks = []
        while f"{name}{len(chunks)}" in attrs:
            chunks.append(attrs[f"{name}{len(chunks)}"])
    return [n.decode("utf8") if hasattr(n, "decode") else str(n) for c in chunks for n in c]
