"""Hold back TensorFlow's C++ start-up lines from the `kerasft` command's stderr.

`import tensorflow` writes lines such as "oneDNN custom operations are on" and "Could not find
cuda drivers" (twice, as it loads two libraries), and its first look at the devices writes
"failed call to cuInit" on a machine without a GPU. They are written straight to file
descriptor 2 before TensorFlow's logging starts, so `TF_CPP_MIN_LOG_LEVEL` does not silence
them. `tensorflow_start_up()` points descriptor 2 at a temporary file while TensorFlow is first
imported (whenever that happens during the command) and writes back every captured line that
is not such start-up noise: real errors and Python warnings still reach stderr.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import os
import re
import sys
import tempfile
from collections.abc import Iterator

# Lines TensorFlow writes on every start, on every machine, that say nothing about the command.
NOISE = re.compile(
    "|".join(
        (
            r"All log messages before absl::InitializeLog\(\) is called are written to STDERR",
            r"oneDNN custom operations are on",
            r"Could not find cuda drivers on your machine",
            r"This TensorFlow binary is optimized to use available CPU instructions",
            r"^To enable the following instructions: .* rebuild TensorFlow",
            r"failed call to cuInit",
            r"Unable to register cu(DNN|FFT|BLAS) factory",
            r"Attempting to register factory for plugin",
            r"computation placer already registered",
            r"TF-TRT Warning: Could not find TensorRT",
        )
    )
)


def is_noise(line: str) -> bool:
    """Whether `line` is one of TensorFlow's start-up lines (see NOISE).

    Args:
        line: one line of stderr output.

    >>> from kerasft.cli.quiet import is_noise
    >>> is_noise("I0000 00:00:17.7 123 port.cc:153] oneDNN custom operations are on. You may")
    True
    >>> is_noise("UserWarning: the dataset has one class")
    False
    """
    return bool(NOISE.search(line))


@contextlib.contextmanager
def held_back() -> Iterator[None]:
    """Capture file descriptor 2 for the block; then write back the lines that are not noise.

    Whatever else was written meanwhile (a Python warning, a real error) reaches stderr, late
    but in order.
    """
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no stderr to protect
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            text = capture.read().decode(errors="replace")
            kept = "".join(line for line in text.splitlines(keepends=True) if not is_noise(line))
            if kept:
                os.write(2, kept.encode())


class _QuietLoader(importlib.abc.Loader):
    """TensorFlow's own loader, run with stderr held back; it puts itself back afterwards."""

    def __init__(self, loader) -> None:
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        with held_back():
            try:
                self.loader.exec_module(module)
            finally:
                module.__loader__ = module.__spec__.loader = self.loader
            # The first look at the devices prints its own line (cuInit without a GPU); take
            # it now, while the noise is held back, rather than at the first tensor.
            with contextlib.suppress(Exception):
                module.config.list_physical_devices()


class _Finder(importlib.abc.MetaPathFinder):
    """Hands the first `import tensorflow` to `_QuietLoader`."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow" or path is not None:
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)  # once, and not for the look-up below
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _QuietLoader(spec.loader)
        return spec


@contextlib.contextmanager
def tensorflow_start_up(quiet: bool = True) -> Iterator[None]:
    """Within the block, the first `import tensorflow` keeps its start-up noise off stderr.

    Args:
        quiet: False leaves stderr alone (`kerasft --verbose`).
    """
    if not quiet or "tensorflow" in sys.modules:
        yield
        return
    finder = _Finder()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        if finder in sys.meta_path:
            sys.meta_path.remove(finder)
