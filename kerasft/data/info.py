"""`DatasetInfo`: what a kerasft loader found (classes, counts, image shape, skipped files)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class DatasetInfo:
    """Facts about a loaded data set, returned by every `kft.data.from_*` loader.

    Attributes:
        class_names: class names, in label-index order.
        class_counts: examples per class name over all splits (for multilabel data: positives).
        split_counts: per split ('train', 'val', 'test'), examples per class name.
        image_size: (height, width) of the images the pipelines yield; None if left as stored.
        channels: channels of the images the pipelines yield (3 for RGB).
        num_examples: usable examples over all splits.
        multilabel: True when labels are multi-hot vectors.
        skipped: path -> reason, for files that were left out (broken, missing).
        converted: paths of files PIL converted because TensorFlow would misread them.
        source: where the data came from, e.g. 'folder:/data/pets' or 'keras:fashion_mnist'.
        modality: 'image', 'text' or 'audio' (then `image_size` and `channels` are None).
        sample_rate: for audio, the waveforms' sample rate in Hz; None otherwise.
        clip_seconds: for audio, the length of every clip in seconds; None otherwise.

    Example:

    ```python
    info = kft.data.DatasetInfo(["cat", "dog"], {"cat": 3, "dog": 1}, image_size=(32, 32))
    info.num_classes            # 2
    kft.data.DatasetInfo.from_config(info.get_config()) == info   # True
    ```
    """

    class_names: list[str]
    class_counts: dict[str, int] = field(default_factory=dict)
    split_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    image_size: tuple[int, int] | None = None
    channels: int | None = 3
    num_examples: int = 0
    multilabel: bool = False
    skipped: dict[str, str] = field(default_factory=dict)
    converted: list[str] = field(default_factory=list)
    source: str = ""
    modality: str = "image"
    sample_rate: int | None = None
    clip_seconds: float | None = None

    def __post_init__(self):
        self.class_names = [str(c) for c in self.class_names]
        if self.image_size is not None:
            self.image_size = tuple(int(s) for s in self.image_size)
        if not self.num_examples and self.class_counts and not self.multilabel:
            self.num_examples = int(sum(self.class_counts.values()))

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def input_shape(self) -> tuple:
        """The `(height, width, channels)` to build a model for; `()` (one string) for text;
        `(samples,)` for audio."""
        if self.modality == "text":
            return ()
        if self.modality == "audio":
            return (self.clip_samples,)
        height, width = self.image_size or (None, None)
        return (height, width, self.channels)

    @property
    def clip_samples(self) -> int | None:
        """For audio, the samples of every clip (`clip_seconds * sample_rate`); else None."""
        if self.sample_rate is None or self.clip_seconds is None:
            return None
        return max(1, round(self.clip_seconds * self.sample_rate))

    def get_config(self) -> dict[str, Any]:
        config = asdict(self)
        config["image_size"] = list(self.image_size) if self.image_size else None
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> DatasetInfo:
        return cls(**config)

    def _what(self) -> str:
        if self.modality == "text":
            return "texts"
        if self.modality == "audio":
            return f"audio clips of {self.clip_seconds:g} s at {self.sample_rate} Hz"
        return f"images {self.input_shape}"

    def __str__(self) -> str:
        lines = [
            f"DatasetInfo({self.source or 'data'}): {self.num_examples} examples, "
            f"{self.num_classes} classes{' (multilabel)' if self.multilabel else ''}, "
            + self._what(),
        ]
        width = max((len(n) for n in self.class_names), default=0)
        for name in self.class_names:
            lines.append(f"  {name:<{width}}  {self.class_counts.get(name, 0)}")
        for split, counts in self.split_counts.items():
            lines.append(f"  {split}: {sum(counts.values())}")
        if self.skipped:
            lines.append(f"  skipped: {len(self.skipped)} files")
        if self.converted:
            lines.append(f"  converted: {len(self.converted)} files")
        return "\n".join(lines)
