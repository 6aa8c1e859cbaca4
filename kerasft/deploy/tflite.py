"""SavedModel -> TFLite (LiteRT) flatbuffer, with optional post-training quantization.

- None: float32 weights and activations.
- "float16": weights stored as float16 (half the size), computed in float32 on CPUs.
- "int8": weights and activations in int8, calibrated on representative images (about 200);
  input stays uint8 pixels and output float32 probabilities, so callers do not change.

Example:

```python
from kerasft.deploy import convert_saved_model
blob = convert_saved_model("exported/sm", quantize="int8", calibration=images_uint8)
open("model_int8.tflite", "wb").write(blob)
```
"""

from __future__ import annotations

import os

import numpy as np

from kerasft.errors import KerasftError, unknown_name

QUANTIZE_MODES = ("float16", "int8")


def convert_saved_model(
    saved_model: str | os.PathLike,
    quantize: str | None = None,
    calibration: np.ndarray | None = None,
) -> bytes:
    """The TFLite flatbuffer of a SavedModel's serving signature.

    Args:
        saved_model: the SavedModel folder (`export_saved_model`).
        quantize: None, "float16" or "int8".
        calibration: for "int8": uint8 images shaped like the signature's input, one per row.

    Raises:
        KerasftError: an unknown `quantize`, or "int8" without calibration images.
    """
    import tensorflow as tf

    if quantize is not None and quantize not in QUANTIZE_MODES:
        raise unknown_name("quantization", quantize, QUANTIZE_MODES)
    converter = tf.lite.TFLiteConverter.from_saved_model(os.fspath(saved_model))
    if quantize == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif quantize == "int8":
        if calibration is None or len(calibration) == 0:
            raise KerasftError(
                "int8 quantization needs calibration images (about 200 of the kind the model "
                "will see); give --calibration FOLDER or keras:fashion_mnist."
            )
        images = np.asarray(calibration)

        def representative():
            for image in images:
                yield [image[None]]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
    return converter.convert()
