"""The optimizer names `kft.compile` and a config's `optimizer:` accept.

A module of its own, free of Keras, so that `kerasft fit` can refuse an unknown name before
TensorFlow loads.
"""

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop", "nadam", "lion")
