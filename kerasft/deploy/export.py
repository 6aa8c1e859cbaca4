"""`kft.export`: a saved model as a SavedModel folder or a (quantized) TFLite file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kerasft.errors import KerasftError, unknown_name

FORMATS = ("savedmodel", "tflite")


@dataclass
class Exported:
    """An exported model.

    Attributes:
        path: the file (TFLite) or folder (SavedModel) written.
        format: "savedmodel" or "tflite".
        quantize: None, "float16" or "int8".
        size_bytes: its size on disk (a folder: all its files).
        input_shape: the serving input shape, batch first (None), uint8.
        float_layers: for int8, the layers kept in float because int8 was too far off.
    """

    path: Path
    format: str
    quantize: str | None
    size_bytes: int
    input_shape: tuple
    float_layers: tuple = ()


def default_path(model_path: Path, format: str, quantize: str | None) -> Path:
    """`<model>.tflite`, `<model>_int8.tflite`, ... or `<model>_savedmodel` beside the model file.

    Args:
        model_path: the `.keras` file.
        format: "savedmodel" or "tflite".
        quantize: None, "float16" or "int8".
    """
    stem = model_path.stem + (f"_{quantize}" if quantize else "")
    if format == "savedmodel":
        return model_path.with_name(f"{stem}_savedmodel")
    return model_path.with_name(f"{stem}.tflite")


def _size_on_disk(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def export(
    model,
    path: str | os.PathLike | None = None,
    *,
    format: str = "savedmodel",
    quantize: str | None = None,
    calibration: str | np.ndarray | None = None,
    image_size: int | Sequence[int] | None = None,
    calibration_count: int = 200,
) -> Exported:
    """Export a model for serving: input raw uint8 images of one size, output probabilities.

    Args:
        model: a Keras model, or a `.keras` file or run directory.
        path: where to write (default: beside the model file, see `default_path`; required
            for an in-memory model).
        format: "savedmodel" (through Keras's `ExportArchive`) or "tflite" (TensorFlow's
            converter on that SavedModel).
        quantize: for TFLite: None, "float16" or "int8" (post-training, calibrated).
        calibration: for "int8": uint8 images, or a source for `calibration_images` (a
            folder, `keras:NAME`); default: the data the model file or run directory records.
        image_size: for a model of free input size, the side or `(height, width)` to serve at
            (default: the recorded size, else the model's own resize size).
        calibration_count: calibration images drawn from a source.

    Example:

    >>> import os, tempfile, keras, numpy as np
    >>> import kerasft as kft
    >>> model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Rescaling(1 / 255),
    ...                           keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")])
    >>> out = kft.export(model, os.path.join(tempfile.mkdtemp(), "m.tflite"), format="tflite",
    ...                  quantize="int8", calibration=np.zeros((4, 8, 8, 1), "uint8"))
    >>> out.path.suffix, out.input_shape
    ('.tflite', (None, 8, 8, 1))
    """
    from kerasft.data.model_input import model_image_size
    from kerasft.deploy.saved_model import export_saved_model, serving_spec

    if format not in FORMATS:
        raise unknown_name("export format", format, FORMATS)
    if quantize is not None and format != "tflite":
        raise KerasftError(
            f"quantize={quantize!r} applies to TFLite only; pass format='tflite' "
            "(--format tflite) or drop the quantization."
        )
    recorded, data, model_path = None, None, None
    if isinstance(model, (str, os.PathLike)):
        from kerasft import model_file

        loaded = model_file.load(model)
        model, recorded, data, model_path = (
            loaded.model,
            loaded.image_size,
            loaded.data,
            loaded.path,
        )
    if path is None:
        if model_path is None:
            raise KerasftError("give the path to export to, e.g. export(model, 'model.tflite').")
        path = default_path(model_path, format, quantize)
    path = Path(path)
    from kerasft.deploy.saved_model import takes_text, takes_waveforms

    if takes_text(model):
        if format == "tflite":
            raise KerasftError(
                "a text model tokenizes inside with TensorFlow Text ops, which TFLite's "
                "interpreter does not have; export it as a SavedModel (--format savedmodel), "
                "whose serving signature takes the strings."
            )
        export_saved_model(model, path)
        return Exported(path, format, None, _size_on_disk(path), (None,))
    audio = takes_waveforms(model)
    if audio and quantize == "int8":
        raise KerasftError(
            "quantize='int8' calibrates on images; an audio model exports to TFLite as float32 "
            "or with quantize='float16'."
        )
    size = None if audio else model_image_size(model, image_size, recorded)
    spec = serving_spec(model, size)
    if format == "savedmodel":
        export_saved_model(model, path, size)
        return Exported(path, format, None, _size_on_disk(path), tuple(spec.shape))

    from kerasft.deploy.tflite import convert_saved_model

    images = None
    if quantize == "int8":
        images = _calibration(calibration, data, model, size, calibration_count)
    with tempfile.TemporaryDirectory() as tmp:
        export_saved_model(model, Path(tmp) / "saved_model", size)
        float_layers: list[str] = []
        blob = convert_saved_model(Path(tmp) / "saved_model", quantize, images, float_layers)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(blob)
    return Exported(path, format, quantize, len(blob), tuple(spec.shape), tuple(float_layers))


def _calibration(calibration, data, model, size, count) -> np.ndarray:
    from kerasft.deploy.calibration import calibration_images

    if calibration is not None and not isinstance(calibration, (str, os.PathLike)):
        return np.asarray(calibration)
    source = os.fspath(calibration) if calibration is not None else data
    if source is None:
        raise KerasftError(
            "int8 quantization needs calibration images and the model records no training "
            "data; give --calibration FOLDER (or a class-folder tree) or keras:fashion_mnist."
        )
    try:
        return calibration_images(source, tuple(model.inputs[0].shape), size, count)
    except KerasftError as err:
        if calibration is not None:
            raise
        raise KerasftError(
            f"the model's recorded data {source!r} cannot be read for calibration ({err}); "
            "give --calibration FOLDER or keras:NAME."
        ) from None
