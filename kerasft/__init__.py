"""kerasft: fine-tune pretrained Keras 3 models with plain Keras parts.

    import kerasft as kft
    model = kft.build("mobilenet", num_classes=10, input_shape=(28, 28, 1), image_size=96)
    history = kft.fine_tune(model, (x_train, y_train), (x_val, y_val), epochs=(2, 2))

Attributes load on first use, so `kerasft` commands that need no TensorFlow start fast.
"""

from __future__ import annotations

import os

__version__ = "0.1.0"

# TensorFlow leaves its oneDNN kernels off on some CPUs, and its fallback for the backward pass
# of 1x1 convolutions measured up to 14x slower here (kerasft/speed/cpu.py). It reads this once,
# when it is imported; a value the user set wins.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

# name -> "module" (a sub-package) or "module:attribute"
_EXPORTS = {
    "augment": "kerasft.augment",
    "backbones": "kerasft.backbones",
    "callbacks": "kerasft.callbacks",
    "data": "kerasft.data",
    "optimizers": "kerasft.optimizers",
    "schedules": "kerasft.schedules",
    "tuning": "kerasft.tuning",
    "weights": "kerasft.weights",
    "build": "kerasft.builder:build",
    "get_backbone": "kerasft.builder:get_backbone",
    "freeze": "kerasft.freezing:freeze",
    "unfreeze": "kerasft.freezing:unfreeze",
    "summary": "kerasft.freezing:summary",
    "trainable_blocks": "kerasft.freezing:trainable_blocks",
    "lora": "kerasft.lora",
    "enable_lora": "kerasft.lora:enable_lora",
    "save_adapters": "kerasft.lora:save_adapters",
    "load_adapters": "kerasft.lora:load_adapters",
    "merge_lora": "kerasft.lora:merge_lora",
    "compile": "kerasft.training.compile:compile",
    "fine_tune": "kerasft.training.fine_tune:fine_tune",
    "RecompileGuard": "kerasft.training.guard:RecompileGuard",
    "find_lr": "kerasft.callbacks.lr_finder:find_lr",
    "evaluate": "kerasft.evaluation.evaluate:evaluate",
    "predict": "kerasft.evaluation.predict:predict",
    "predict_files": "kerasft.evaluation.predict_files:predict_files",
    "export": "kerasft.deploy:export",
    # The package itself: callable as kft.explain(model, images), and kft.explain.GradCAM.
    "explain": "kerasft.explain",
    "ensemble": "kerasft.ensembles:ensemble",
    "stack": "kerasft.ensembles:stack",
    "cross_validate": "kerasft.training.cross_validate:cross_validate",
    "tune": "kerasft.tuning.tune:tune",
    "SearchSpace": "kerasft.tuning.space:SearchSpace",
}

__all__ = sorted(_EXPORTS)

# Saved models hold kerasft's own layers (a text tokenizer, an audio front end), which Keras
# finds only once registered: register them now if Keras is loaded already (`import keras,
# kerasft`); otherwise the first `kft.*` attribute that loads Keras does (`__getattr__`), so
# that `import kerasft` alone stays free of TensorFlow for the command line's config checks.
if "keras" in __import__("sys").modules:
    import kerasft.layers  # noqa: E402, F401


def __getattr__(name: str):
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'kerasft' has no attribute {name!r}")
    from kerasft._targets import load_target

    value = load_target(target)
    globals()[name] = value
    if "keras" in __import__("sys").modules:  # register kerasft's layers once Keras is in
        import kerasft.layers  # noqa: F401
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
