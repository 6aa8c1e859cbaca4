"""Import musicnn's MagnaTagATune VGG from its PyPI wheel into the Keras 3 rebuild.

PyPI's `musicnn==0.1.0` (ISC) carries TF1 checkpoints; `musicnn/MTT_vgg/` is the VGG trained
on MagnaTagATune's 50 tags. The wheel is downloaded with `pip download --no-deps` (installing
it would pin an ancient numpy and TensorFlow), only the checkpoint's files are unpacked, read
with `tf.compat.v1.train.NewCheckpointReader` (its prefix is the folder itself: the files are
named `.index` and `.data-00000-of-00001`, hence the trailing slash) and written as the
weights of `kerasft.backbones.musicnn.musicnn_backbone` plus the tag layer.

    from kerasft.weights.musicnn import import_musicnn
    folder = import_musicnn()      # once; a fast no-op afterwards
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from kerasft.backbones.audio_presets import musicnn_files
from kerasft.errors import KerasftError
from kerasft.pypi_files import PinnedFile, find_pinned

_FILENAME = "musicnn-0.1.0-py3-none-any.whl"
_FIX = (
    "Download it by hand with `pip download --no-deps --only-binary :all: musicnn==0.1.0 -d "
    f"DIR` and run `kerasft weights import musicnn --wheel DIR/{_FILENAME}`."
)
WHEEL = PinnedFile(
    "musicnn",
    "0.1.0",
    _FILENAME,
    "f38a4890c648c1ddbb141c5d96d2b0a8cfcd36746002d896989f7b88beb65cfa",
    fix=_FIX,
)
CHECKPOINT = "musicnn/MTT_vgg/"
#: The checkpoint's variable scope of each Keras layer (TF1 `tf.layers` default names).
LAYER_SCOPES = {
    "input_bn": "batch_normalization",
    **{f"block{i}_conv": f"{i}CNN" for i in range(1, 6)},
    **{f"block{i}_bn": f"batch_normalization_{i}" for i in range(1, 6)},
}
_CONV = ("kernel", "bias")
_BN = ("gamma", "beta", "moving_mean", "moving_variance")


def read_checkpoint(wheel: Path) -> dict[str, np.ndarray]:
    """Every weight of the MTT_vgg checkpoint inside the wheel, by TF1 variable name
    (optimizer slots left out).

    Args:
        wheel: the verified `musicnn-0.1.0-py3-none-any.whl`.
    """
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as tmp:
        try:
            with zipfile.ZipFile(wheel) as archive:
                members = [
                    m
                    for m in archive.namelist()
                    if m.startswith(CHECKPOINT) and Path(m).name.startswith((".index", ".data"))
                ]
                for member in members:
                    archive.extract(member, tmp)
        except zipfile.BadZipFile as err:
            raise KerasftError(f"{str(wheel)!r} is not a readable wheel ({err}). {_FIX}") from None
        if not members:
            raise KerasftError(f"{str(wheel)!r} holds no checkpoint under {CHECKPOINT}. {_FIX}")
        # The checkpoint's prefix is the empty name inside the folder: the trailing slash.
        reader = tf.compat.v1.train.NewCheckpointReader(str(Path(tmp) / CHECKPOINT) + "/")
        return {
            name: reader.get_tensor(name)
            for name in reader.get_variable_to_shape_map()
            if "Adam" not in name and not name.startswith("beta")
        }


def import_musicnn(
    wheel: str | Path | None = None, *, force: bool = False, verbose: bool = True
) -> Path:
    """Convert musicnn's MTT_vgg checkpoint into the Keras 3 network's weights; return their
    folder.

    Args:
        wheel: the `.whl` (or its folder); None uses kerasft's cache, downloading into it with
            pip when it is not there.
        force: convert again even if the files are there.
        verbose: print what is done.
    """
    files = musicnn_files()
    if not force and files.backbone.is_file() and files.tags.is_file():
        if verbose:
            print(f"musicnn: already in {files.folder}")
        return files.folder
    from kerasft.backbones.musicnn import musicnn_backbone, write_tag_head

    tensors = read_checkpoint(find_pinned(WHEEL, wheel, verbose=verbose))
    net = musicnn_backbone(weights=None)
    used = set()
    for layer_name, scope in LAYER_SCOPES.items():
        layer = net.get_layer(layer_name)
        names = [f"{scope}/{part}" for part in (_CONV if "conv" in layer_name else _BN)]
        missing = [name for name in names if name not in tensors]
        if missing:
            raise KerasftError(f"The musicnn checkpoint lacks {missing[0]!r}. {_FIX}")
        layer.set_weights([tensors[name] for name in names])
        used.update(names)
    used.update(("dense/kernel", "dense/bias"))
    left = sorted(set(tensors) - used)
    if left:  # a different checkpoint: refuse rather than half-convert it
        raise KerasftError(f"The musicnn checkpoint has weights kerasft does not map: {left}.")
    partial = files.folder.with_name(files.folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    net.save_weights(partial / files.backbone.name)
    write_tag_head(tensors["dense/kernel"], tensors["dense/bias"], partial / files.tags.name)
    # Swapped in whole, so an interrupted import never leaves files that look complete.
    shutil.rmtree(files.folder, ignore_errors=True)
    partial.rename(files.folder)
    if verbose:
        count = sum(int(np.prod(t.shape)) for t in tensors.values())
        print(f"musicnn: MTT_vgg ({count:,} weights) converted into {files.folder}")
    return files.folder
