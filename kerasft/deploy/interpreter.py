"""Run a TFLite file: LiteRT's interpreter (`ai-edge-litert`), else TensorFlow's `tf.lite`.

`tf.lite.Interpreter` is deprecated in favour of LiteRT's `ai_edge_litert.interpreter`; kerasft
uses LiteRT when it is installed (`pip install kerasft[export]`) and says which one ran.

Example:

```python
from kerasft.deploy import check_tflite
check = check_tflite("model_int8.tflite", images_uint8, reference=model)
check.runtime, check.images_per_s, check.agreement
```
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np


def load_interpreter(path: str | os.PathLike, num_threads: int | None = None):
    """`(interpreter, runtime_name)` for a TFLite file, LiteRT first.

    Args:
        path: the `.tflite` file.
        num_threads: CPU threads (default: all cores).
    """
    threads = num_threads or os.cpu_count() or 1
    try:
        from ai_edge_litert.interpreter import Interpreter

        runtime = "LiteRT (ai_edge_litert)"
    except ImportError:
        import tensorflow as tf

        Interpreter, runtime = tf.lite.Interpreter, "tf.lite.Interpreter"
    return Interpreter(model_path=os.fspath(path), num_threads=threads), runtime


@dataclass
class TFLiteCheck:
    """What running a TFLite file on some images gave.

    Attributes:
        runtime: which interpreter ran ("LiteRT (ai_edge_litert)" or "tf.lite.Interpreter").
        probabilities: its outputs, one row per image.
        images_per_s: images per second, one image per call (as on a device).
        agreement: the fraction of images whose top-1 class matches `reference`'s, or None.
    """

    runtime: str
    probabilities: np.ndarray
    images_per_s: float
    agreement: float | None = None


def check_tflite(
    path: str | os.PathLike, images: np.ndarray, reference=None, num_threads: int | None = None
) -> TFLiteCheck:
    """Run a TFLite file on uint8 `images`, one at a time; compare with `reference` if given.

    Args:
        path: the `.tflite` file.
        images: uint8 images shaped like the file's input, one per row.
        reference: the Keras model (taking the same images) whose top-1 classes to compare.
        num_threads: CPU threads (default: all cores).
    """
    interpreter, runtime = load_interpreter(path, num_threads)
    interpreter.allocate_tensors()
    source = interpreter.get_input_details()[0]
    target = interpreter.get_output_details()[0]
    images = np.asarray(images, dtype=source["dtype"])
    outputs = []
    start = time.perf_counter()
    for image in images:
        interpreter.set_tensor(source["index"], image[None])
        interpreter.invoke()
        outputs.append(np.array(interpreter.get_tensor(target["index"])[0]))
    seconds = time.perf_counter() - start
    probs = np.stack(outputs).astype(np.float32)
    agreement = None
    if reference is not None:
        want = np.asarray(reference.predict(images, batch_size=64, verbose=0))
        agreement = float(np.mean(_top1(probs) == _top1(want)))
    return TFLiteCheck(runtime, probs, len(images) / max(seconds, 1e-9), agreement)


def _top1(probs: np.ndarray) -> np.ndarray:
    return (probs[:, 0] >= 0.5).astype(int) if probs.shape[-1] == 1 else probs.argmax(-1)
