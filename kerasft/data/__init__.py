"""Load image, text and audio data into batched `tf.data` pipelines, with one call per kind of source.

Every loader returns a `DataSplits` (`.train`, `.val`, `.test` datasets of `(images, labels)`
and `.info`, a `DatasetInfo`):

```python
import kerasft as kft
data = kft.data.from_folder("pets/", image_size=160, validation_split=0.2)
data = kft.data.from_csv("labels.csv", path_col="path", label_col="label")
data = kft.data.from_arrays(x, y, validation_split=0.1)
data = kft.data.from_dataframe(frame, label_col="label")
data = kft.data.from_tfds("tf_flowers", data_dir="/data/tfds", image_size=160)
data = kft.data.from_keras("fashion_mnist", image_size=32, channels=3)
model.fit(data.train, validation_data=data.val, class_weight=data.class_weights())
texts = kft.data.from_text_folder("bbc_news/")          # (tf.string, labels) batches
texts = kft.data.from_text_csv("texts.csv", text_col="text", label_col="label")
texts = kft.data.from_text_arrays(["a text", ...], ["label", ...])
clips = kft.data.from_audio_folder("prompts/")     # (float32 (B, samples), labels) at 16 kHz
clips = kft.data.from_audio_csv("clips.csv", path_col="path", label_col="label")
```
"""

from kerasft.data.arrays import from_arrays, from_dataframe
from kerasft.data.audio import from_audio_csv, from_audio_folder
from kerasft.data.class_weights import class_weights
from kerasft.data.data_splits import DataSplits
from kerasft.data.files import SkippedFilesWarning
from kerasft.data.folder import from_folder
from kerasft.data.info import DatasetInfo
from kerasft.data.keras_datasets import ensure_local, from_keras, load_arrays
from kerasft.data.pipeline import make_pipeline
from kerasft.data.splits import split, split_indices
from kerasft.data.table import from_csv
from kerasft.data.text import from_text_arrays, from_text_csv, from_text_folder
from kerasft.data.tfds_source import from_tfds

__all__ = [
    "DataSplits",
    "DatasetInfo",
    "SkippedFilesWarning",
    "class_weights",
    "ensure_local",
    "from_arrays",
    "from_audio_csv",
    "from_audio_folder",
    "from_csv",
    "from_dataframe",
    "from_folder",
    "from_keras",
    "from_text_arrays",
    "from_text_csv",
    "from_text_folder",
    "from_tfds",
    "load_arrays",
    "make_pipeline",
    "split",
    "split_indices",
]
