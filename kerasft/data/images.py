"""Robust image files: check them up front with PIL, decode them in TensorFlow.

A broken file found while an epoch runs would kill training hours in, so every file is opened
and fully decoded once with PIL before the `tf.data` pipeline is built (in threads: PIL lets go
of the GIL while it decodes, and JPEGs are decoded at 1/8 scale through `draft`, which still reads
every byte of the scan and so still catches truncation). The check sorts each file into:

- broken: not an image, empty, truncated, unreadable: skipped, with its reason;
- native: a format and mode TensorFlow's `decode_image` reads correctly (tested: RGB and
  grayscale JPEG, every PNG including palette, RGBA and 16-bit, GIF, 24/32-bit BMP);
- converted: readable by PIL but not decoded right by TensorFlow (CMYK or YCCK JPEG, palette
  BMP, TIFF-like modes): PIL converts it to RGB once and its PNG bytes are kept in memory.

Example:

```python
from kerasft.data import images
checks = images.check_images(["a.jpg", "b.png"])
[c.status for c in checks]     # e.g. ['native', 'broken']
rgb = images.load_image("a.jpg")  # uint8 array (H, W, 3)
```
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")

# Modes TensorFlow decodes exactly like PIL would convert them to RGB (checked pixel by pixel).
_NATIVE_MODES = {
    "JPEG": {"L", "RGB"},
    "PNG": None,  # libpng in TF handles palette, alpha, 1/2/4/16-bit depths
    "GIF": None,
    "BMP": {"RGB", "RGBA"},
}


@dataclass(frozen=True)
class ImageCheck:
    """The outcome of checking one image file: `status` is 'native', 'converted' or 'broken'."""

    path: str
    status: str
    reason: str = ""
    size: tuple[int, int] | None = None  # (height, width)
    mode: str | None = None
    format: str | None = None
    png_bytes: bytes = b""  # only for 'converted' files


def is_image_file(name: str) -> bool:
    """True for names with one of the extensions kerasft loads (case-insensitive)."""
    return name.lower().endswith(IMAGE_EXTENSIONS)


def to_rgb_array(image) -> np.ndarray:
    """A PIL image as an RGB uint8 array, converting modes that PIL itself gets wrong.

    PIL's `convert("RGB")` clips 16- and 32-bit grayscale at 255 instead of scaling it, so those
    modes are rescaled here; palette images with transparency go through RGBA first.
    """
    mode = image.mode
    if mode.startswith("I;16") or mode in {"I", "F"}:
        array = np.asarray(image, dtype=np.float64)
        if mode.startswith("I;16"):
            array = array / 257.0
        else:
            low, high = float(array.min()), float(array.max())
            array = (array - low) * (255.0 / (high - low)) if high > low else array * 0.0
        gray = np.clip(np.rint(array), 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=-1)
    if mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.asarray(image, dtype=np.uint8)


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Read one image file as an RGB uint8 array (H, W, 3); raises `OSError` if it is broken."""
    from PIL import Image

    with Image.open(path) as image:
        image.load()
        return to_rgb_array(image)


def check_image(path: str | os.PathLike) -> ImageCheck:
    """Open and fully decode one file with PIL and say whether TensorFlow can take it as it is."""
    from PIL import Image

    path = os.fspath(path)
    try:
        if os.path.getsize(path) == 0:
            return ImageCheck(path, "broken", "empty file")
        with warnings.catch_warnings():
            # A decompression-bomb warning is about size, not validity.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                fmt, mode = image.format, image.mode
                width, height = image.size
                native_modes = _NATIVE_MODES.get(fmt, set())
                native = fmt in _NATIVE_MODES and (native_modes is None or mode in native_modes)
                if native and fmt == "JPEG":
                    # Decoding at 1/8 scale still reads the whole entropy-coded scan.
                    image.draft(mode, (max(1, width // 8), max(1, height // 8)))
                image.load()
                if native:
                    return ImageCheck(path, "native", "", (height, width), mode, fmt)
                buffer = io.BytesIO()
                Image.fromarray(to_rgb_array(image)).save(buffer, format="PNG", compress_level=1)
                return ImageCheck(
                    path,
                    "converted",
                    f"{fmt} {mode}",
                    (height, width),
                    mode,
                    fmt,
                    buffer.getvalue(),
                )
    except Exception as err:  # PIL raises many types (OSError, SyntaxError, ValueError...)
        reason = str(err) or type(err).__name__
        if "cannot identify image file" in reason:
            reason = "not an image file"
        return ImageCheck(path, "broken", reason)


def check_images(paths: Sequence[str], num_threads: int | None = None) -> list[ImageCheck]:
    """`check_image` for many files, in threads, keeping the order of `paths`."""
    if num_threads is None:
        num_threads = min(32, (os.cpu_count() or 1) * 4)
    if len(paths) < 8 or num_threads <= 1:
        return [check_image(p) for p in paths]
    with ThreadPoolExecutor(max_workers=num_threads) as pool:
        return list(pool.map(check_image, paths, chunksize=16))


def decode_tf(path, blob, channels: int = 3):
    """Decode one image in a `tf.data` map: `blob` (PNG bytes of a converted file) if not empty,
    else the file at `path`. Returns a uint8 tensor (H, W, channels)."""
    import tensorflow as tf

    data = tf.cond(
        tf.strings.length(blob) > 0,
        lambda: blob,
        lambda: tf.io.read_file(path),
    )
    image = tf.io.decode_image(data, channels=channels, expand_animations=False, dtype=tf.uint8)
    image.set_shape([None, None, channels])
    return image
