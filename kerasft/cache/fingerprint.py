"""Content fingerprints: what a cached feature depends on, as short hex digests.

Rows are addressed by the hash of their bytes, so a fold, a subset or a reshuffled copy of a
dataset finds the features of rows it shares with any earlier run.
"""

from __future__ import annotations

import hashlib
import json

import keras
import numpy as np

ROW_HASH_BYTES = 16


def _digest(*parts: bytes) -> str:
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(part)
    return h.hexdigest()


def row_hashes(x: np.ndarray) -> np.ndarray:
    """One 16-byte hash per sample (first axis) of `x`, as a `|S16` array.

    Example:

    >>> import numpy as np
    >>> from kerasft.cache.fingerprint import row_hashes
    >>> h = row_hashes(np.zeros((3, 2, 2), "uint8"))
    >>> h.shape, bool(h[0] == h[1])
    ((3,), True)
    """
    if x.dtype.kind in "OUS":  # texts: hash each one's UTF-8 bytes
        out = np.empty(len(x), dtype=f"S{ROW_HASH_BYTES}")
        for i, text in enumerate(x.reshape(len(x), -1)):
            data = "\x00".join(t.decode() if isinstance(t, bytes) else str(t) for t in text)
            out[i] = hashlib.blake2b(
                data.encode("utf-8"), digest_size=ROW_HASH_BYTES, key=b"text"
            ).digest()
        return out
    x = np.ascontiguousarray(x)
    # dtype and row shape go into every hash: the same bytes as uint8 or float16 differ.
    salt = f"{x.dtype.str}{x.shape[1:]}".encode()
    flat = x.reshape(len(x), -1).view(np.uint8) if len(x) else x.reshape(0, 0)
    out = np.empty(len(x), dtype=f"S{ROW_HASH_BYTES}")
    for i, row in enumerate(flat):
        out[i] = hashlib.blake2b(row.data, digest_size=ROW_HASH_BYTES, key=salt[:64]).digest()
    return out


def rows_fingerprint(hashes: np.ndarray, labels: np.ndarray | None = None) -> str:
    """A digest of a dataset: its row hashes in order (and its labels)."""
    parts = [np.ascontiguousarray(hashes).tobytes()]
    if labels is not None:
        labels = np.ascontiguousarray(labels)
        parts += [labels.dtype.str.encode(), repr(labels.shape).encode(), labels.tobytes()]
    return _digest(*parts)


def _config_without_names(config):
    if isinstance(config, dict):
        return {k: _config_without_names(v) for k, v in config.items() if k != "name"}
    if isinstance(config, (list, tuple)):
        return [_config_without_names(v) for v in config]
    return config


def layers_fingerprint(layers: list[keras.layers.Layer]) -> str:
    """A digest of layers' classes, configurations and weight values.

    Two backbones with the same architecture but fine-tuned (or re-loaded) weights differ;
    renaming a layer does not change the digest.
    """
    h = hashlib.blake2b(digest_size=16)
    for layer in layers:
        try:
            config = _config_without_names(layer.get_config())
        except NotImplementedError:
            config = None
        h.update(type(layer).__qualname__.encode())
        h.update(json.dumps(config, sort_keys=True, default=repr).encode())
        for weight in layer.weights:
            value = np.ascontiguousarray(keras.ops.convert_to_numpy(weight))
            h.update(value.dtype.str.encode() + repr(value.shape).encode())
            h.update(value.tobytes())
    return h.hexdigest()


def text_fingerprint(value) -> str:
    """A digest of any JSON-able value."""
    return _digest(json.dumps(value, sort_keys=True, default=repr).encode())
