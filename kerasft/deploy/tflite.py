"""SavedModel -> TFLite (LiteRT) flatbuffer, with optional post-training quantization.

- None: float32 weights and activations.
- "float16": weights stored as float16 (half the size), computed in float32 on CPUs.
- "int8": weights and activations in int8, calibrated on representative images (about 200);
  input stays uint8 pixels and output float32 probabilities, so callers do not change. Layers
  whose int8 output is far off their float output on the calibration images (`NOISY_STEPS`
  quantization steps or more, measured with TensorFlow's `QuantizationDebugger`) stay float.
  Measured on ImageNet MobileNet fine-tuned on Fashion-MNIST: conv_pw_1 and conv_dw_1 were off
  by 2.7 and 2.6 steps RMS (the next layer 1.5; rounding alone is 0.29), and int8 agreed with
  Keras on 88% of test images; with those two left in float, on 98%.

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
# A layer whose int8 output is off by this many quantization steps (RMS, on the calibration
# images) stays float; rounding alone is 1/sqrt(12) = 0.29 steps.
NOISY_STEPS = 2.0


def noisy_layers(statistics_csv: str, steps: float = NOISY_STEPS) -> list[str]:
    """The tensors of a `QuantizationDebugger.layer_statistics_dump` off by `steps` or more.

    Args:
        statistics_csv: the dump's text (columns include tensor_name, scale,
            mean_squared_error).
        steps: the RMS error, in quantization steps (`scale`), from which a layer is noisy.

    >>> from kerasft.deploy.tflite import noisy_layers
    >>> noisy_layers("tensor_name,scale,mean_squared_error\\na,0.1,1.0\\nb,0.1,0.0001\\n")
    ['a']
    """
    import csv
    import io

    noisy = []
    for row in csv.DictReader(io.StringIO(statistics_csv)):
        try:
            scale, mse = float(row["scale"]), float(row["mean_squared_error"])
        except (KeyError, TypeError, ValueError):
            continue
        if scale > 0 and mse**0.5 / scale >= steps:
            noisy.append(row["tensor_name"])
    return noisy


def _selective_int8(converter, representative) -> tuple[bytes, list[str]]:
    """Full int8, except the layers `noisy_layers` finds, which stay float."""
    import io

    import tensorflow as tf

    debugger = tf.lite.experimental.QuantizationDebugger(
        converter=converter, debug_dataset=representative
    )
    debugger.run()
    dump = io.StringIO()
    debugger.layer_statistics_dump(dump)
    noisy = noisy_layers(dump.getvalue())
    if noisy:
        options = tf.lite.experimental.QuantizationDebugOptions(denylisted_nodes=noisy)
        debugger = tf.lite.experimental.QuantizationDebugger(
            converter=converter, debug_dataset=representative, debug_options=options
        )
    return debugger.get_nondebug_quantized_model(), noisy


def convert_saved_model(
    saved_model: str | os.PathLike,
    quantize: str | None = None,
    calibration: np.ndarray | None = None,
    float_layers: list | None = None,
) -> bytes:
    """The TFLite flatbuffer of a SavedModel's serving signature.

    Args:
        saved_model: the SavedModel folder (`export_saved_model`).
        quantize: None, "float16" or "int8".
        calibration: for "int8": uint8 images shaped like the signature's input, one per row.
        float_layers: for "int8": a list that receives the names of the layers kept in float
            (see `noisy_layers`).

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
        if float_layers is None:
            return _selective_int8(converter, representative)[0]
        blob, kept = _selective_int8(converter, representative)
        float_layers.extend(kept)
        return blob
    return converter.convert()
