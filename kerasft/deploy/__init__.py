"""Models for deployment: a SavedModel or a TFLite (LiteRT) file taking raw uint8 images.

```python
import kerasft as kft
exported = kft.export("runs/fmnist", format="tflite", quantize="int8",
                      calibration="keras:fashion_mnist")
check = kft.deploy.check_tflite(exported.path, images)  # runtime, images/s, probabilities
```
"""

from kerasft.deploy.calibration import calibration_images
from kerasft.deploy.export import Exported, export
from kerasft.deploy.interpreter import TFLiteCheck, check_tflite, load_interpreter
from kerasft.deploy.saved_model import export_saved_model, serving_spec
from kerasft.deploy.tflite import QUANTIZE_MODES, convert_saved_model

__all__ = [
    "QUANTIZE_MODES",
    "Exported",
    "TFLiteCheck",
    "calibration_images",
    "check_tflite",
    "convert_saved_model",
    "export",
    "export_saved_model",
    "load_interpreter",
    "serving_spec",
]
