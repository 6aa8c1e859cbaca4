"""`.keras` files that know their classes: save, find and load a model with its class names.

A `.keras` file is a zip archive; kerasft adds one small member, `kerasft.json`, holding the
class names and the data source. `keras.models.load_model` reads only the members it knows, so
the file still reloads with plain Keras, and kerasft's `predict`, `evaluate` and `export` read
the names back and answer with class names, not indices.

Example:

>>> import os, tempfile, keras
>>> from kerasft import model_file
>>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
>>> path = os.path.join(tempfile.mkdtemp(), "m.keras")
>>> _ = model_file.save(model, path, class_names=["cat", "dog"], data="folder:pets/")
>>> model_file.read_info(path)["class_names"]
['cat', 'dog']
>>> keras.models.load_model(path).output_shape
(None, 2)
"""

from __future__ import annotations

import json
import os
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

from kerasft.errors import KerasftError

MEMBER = "kerasft.json"


def save(
    model,
    path: str | os.PathLike,
    *,
    class_names: list[str] | None = None,
    data: str | None = None,
    image_size: int | tuple[int, int] | None = None,
) -> Path:
    """`model.save(path)`, then record `class_names` and the `data` source inside the file.

    Args:
        model: the Keras model to save.
        path: the `.keras` file to write.
        class_names: the names of the model's output classes, in output order.
        data: where the training data came from (e.g. `"folder:photos/"`), for the record.
        image_size: the `(height, width)` (or side) the images were trained at, for a model
            whose input size is free (`None x None`): `predict` and `export` resize to it.

    Returns:
        The path written.
    """
    path = Path(path)
    model.save(path)
    info = {}
    if class_names is not None:
        info["class_names"] = [str(name) for name in class_names]
    if data is not None:
        info["data"] = str(data)
    if image_size is not None:
        pair = (image_size, image_size) if isinstance(image_size, int) else image_size
        info["image_size"] = [int(s) for s in pair]
    if info:
        with zipfile.ZipFile(path, "a") as archive:
            archive.writestr(MEMBER, json.dumps(info, indent=1))
    return path


def read_info(path: str | os.PathLike) -> dict:
    """What kerasft recorded in a `.keras` file (`class_names`, `data`, `image_size`), or {}."""
    try:
        with zipfile.ZipFile(path) as archive:
            if MEMBER not in archive.namelist():
                return {}
            return json.loads(archive.read(MEMBER))
    except (zipfile.BadZipFile, OSError, ValueError):
        return {}


def data_spec(source: str | None) -> str | None:
    """The `data` value a recorded source names: "folder:/p" -> "/p", "keras:name" as is.

    Args:
        source: what `save(data=...)` recorded (`JobData.source`), or None.

    >>> from kerasft.model_file import data_spec
    >>> data_spec("folder:/data/pets"), data_spec("keras:fashion_mnist")
    ('/data/pets', 'keras:fashion_mnist')
    """
    if not source:
        return None
    prefix, _, rest = source.partition(":")
    return rest if prefix in ("folder", "csv") else source


def resolve(path: str | os.PathLike) -> tuple[Path, Path | None]:
    """`(model_file, run_dir)` for a `.keras` file or a run directory holding `model.keras`.

    Raises:
        KerasftError: the path does not exist, or is neither of the two.
    """
    p = Path(path)
    if p.is_dir():
        model_path = p / "model.keras"
        if not model_path.exists():
            raise KerasftError(
                f"{p} is a folder without model.keras; give a run directory of `kerasft fit` or "
                "a .keras file."
            )
        return model_path, p
    if not p.exists():
        raise KerasftError(f"{p}: no such file or run directory.")
    if p.suffix != ".keras":
        raise KerasftError(
            f"{p} is not a .keras model file; save models with model.save('m.keras')."
        )
    return p, None


def run_info(run_dir: Path | None) -> dict:
    """What a run directory says about its data: config.yaml `data`, metrics.json class names."""
    info: dict = {}
    if run_dir is None:
        return info
    config = run_dir / "config.yaml"
    if config.exists():
        import yaml

        cfg = yaml.safe_load(config.read_text()) or {}
        if isinstance(cfg.get("data"), str):
            info["data"] = cfg["data"]
    metrics = run_dir / "metrics.json"
    if metrics.exists():
        names = json.loads(metrics.read_text()).get("class_names")
        if names:
            info["class_names"] = [str(n) for n in names]
    return info


@dataclass
class Loaded:
    """A loaded model with what is known about it.

    Attributes:
        model: the Keras model.
        path: the `.keras` file it came from.
        run_dir: the run directory holding it, or None.
        class_names: its class names (from the file, else the run directory), or None.
        data: the data source it was trained on, or None.
        image_size: the `(height, width)` it was trained at, when recorded, or None.
    """

    model: object
    path: Path
    run_dir: Path | None
    class_names: list[str] | None
    data: str | None
    image_size: tuple[int, int] | None = None


def load(path: str | os.PathLike) -> Loaded:
    """Load a `.keras` file or a run directory's model, with its class names and data source."""
    import keras

    import kerasft.layers  # noqa: F401  (registers kerasft's serializable layers)

    model_path, run_dir = resolve(path)
    info = {**run_info(run_dir), **read_info(model_path)}
    with warnings.catch_warnings():
        # A fine-tuned model is saved with the optimizer slots of every block it trained,
        # while the reloaded model's optimizer is built for what is trainable now; Keras
        # warns and skips the slots, which predicting, evaluating and exporting never use.
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        model = keras.models.load_model(model_path)
    return Loaded(
        model=model,
        path=model_path,
        run_dir=run_dir,
        class_names=info.get("class_names"),
        data=info.get("data"),
        image_size=tuple(info["image_size"]) if info.get("image_size") else None,
    )
