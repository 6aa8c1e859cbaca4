"""Gradient clipping installed on whatever optimizer the model was compiled with."""

from __future__ import annotations

import keras
from keras import ops

from kerasft.errors import KerasftError
from kerasft.optimizers._inner import inner_optimizer, model_optimizer
from kerasft.optimizers.gradient_hooks import add_gradient_hook, remove_gradient_hook

_BUILTIN = ("clipnorm", "clipvalue", "global_clipnorm")


def unitwise_norm(x):
    """L2 norm per output unit: over all axes but the last (Keras kernels end with the output
    axis: Dense (in, out), Conv (h, w, in, out)); over the whole tensor for scalars/vectors."""
    x = ops.cast(x, "float32")
    if len(x.shape) <= 1:
        return ops.sqrt(ops.sum(ops.square(x), keepdims=True))
    axes = tuple(range(len(x.shape) - 1))
    return ops.sqrt(ops.sum(ops.square(x), axis=axes, keepdims=True))


def adaptive_clip(grad, param, clip_factor: float, eps: float):
    """Adaptive gradient clipping (Brock et al. 2021, NFNets): scale each unit's gradient down
    so that `||G_i|| / max(||W_i||, eps) <= clip_factor`."""
    grad32 = ops.cast(grad, "float32")
    max_norm = ops.maximum(unitwise_norm(param), eps) * clip_factor
    grad_norm = unitwise_norm(grad32)
    # The maximum() keeps the division finite where the gradient is zero.
    clipped = grad32 * (max_norm / ops.maximum(grad_norm, 1e-6))
    return ops.cast(ops.where(grad_norm > max_norm, clipped, grad32), grad.dtype)


class GradientClipping(keras.callbacks.Callback):
    """Clip gradients during `fit`, whatever optimizer the model was compiled with.

    Give exactly one of:
      - `clipnorm`: clip each variable's gradient to this L2 norm;
      - `clipvalue`: clip each gradient element to [-v, v];
      - `global_clipnorm`: scale all gradients together so their global L2 norm is at most this;
      - `adaptive`: adaptive gradient clipping (AGC, Brock et al. 2021) with this clip factor
        (0.01 to 0.16 in the paper): per output unit, the gradient norm may be at most
        `adaptive * max(weight norm, eps)`.

    The first three set the optimizer's own `clipnorm`/`clipvalue`/`global_clipnorm` (Keras
    applies them in the optimizer's `apply`); AGC is a gradient hook on the optimizer. Either
    way the train function is rebuilt, and the optimizer's previous settings come back when
    `fit` ends. With a `LossScaleOptimizer`, clipping acts on the unscaled gradients.

    Args:
        clipnorm, clipvalue, global_clipnorm, adaptive: the clipping (one of them).
        eps: AGC's floor on weight norms, so zero-initialised weights can still move.
        exclude: AGC only: skip variables whose path contains any of these strings (the paper
            leaves the final classifier unclipped).

    Example:

    >>> import keras, numpy as np
    >>> import kerasft as kft
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    >>> model.compile(keras.optimizers.SGD(1.0), "mse")
    >>> before = [w.copy() for w in model.get_weights()]
    >>> _ = model.fit(np.ones((8, 4)), np.full((8, 1), 1e4), batch_size=8, epochs=1, verbose=0,
    ...               callbacks=[kft.callbacks.GradientClipping(global_clipnorm=1.0)])
    >>> delta = np.sqrt(sum(((a - b) ** 2).sum() for a, b in zip(model.get_weights(), before)))
    >>> bool(delta <= 1.0 + 1e-5)
    True
    """

    def __init__(
        self,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        adaptive: float | None = None,
        eps: float = 1e-3,
        exclude: tuple[str, ...] | list[str] = (),
    ):
        super().__init__()
        given = {
            k: v
            for k, v in dict(
                clipnorm=clipnorm,
                clipvalue=clipvalue,
                global_clipnorm=global_clipnorm,
                adaptive=adaptive,
            ).items()
            if v is not None
        }
        if len(given) != 1:
            raise KerasftError(
                "GradientClipping takes exactly one of clipnorm, clipvalue, global_clipnorm or "
                f"adaptive; got {given or 'none'}."
            )
        ((self.mode, value),) = given.items()
        if not float(value) > 0:
            raise KerasftError(f"{self.mode}={value!r} must be a positive number.")
        if not eps > 0:
            raise KerasftError(f"eps={eps!r} must be positive.")
        self.value = float(value)
        self.eps = float(eps)
        self.exclude = tuple(exclude)
        self._saved = None
        self._hook = None
        self._optimizer = None

    def _agc(self, grads, variables):
        out = []
        for grad, variable in zip(grads, variables):
            if grad is None or any(s in variable.path for s in self.exclude):
                out.append(grad)
            else:
                out.append(adaptive_clip(grad, variable, self.value, self.eps))
        return out

    def on_train_begin(self, logs=None):
        optimizer = inner_optimizer(model_optimizer(self.model, "GradientClipping"))
        self._optimizer = optimizer
        if self.mode == "adaptive":
            self._hook = add_gradient_hook(optimizer, self._agc, order=10)
        else:
            self._saved = {name: getattr(optimizer, name) for name in _BUILTIN}
            for name in _BUILTIN:
                setattr(optimizer, name, None)
            setattr(optimizer, self.mode, self.value)
        # Clipping settings are read when the train step is traced.
        self.model.make_train_function(force=True)

    def on_train_end(self, logs=None):
        optimizer = self._optimizer
        if optimizer is None:
            return
        if self._hook is not None:
            remove_gradient_hook(optimizer, self._hook)
            self._hook = None
        if self._saved is not None:
            for name, value in self._saved.items():
                setattr(optimizer, name, value)
            self._saved = None
        self._optimizer = None
        self.model.make_train_function(force=True)

    def get_config(self) -> dict:
        config = {name: None for name in (*_BUILTIN, "adaptive")}
        config[self.mode] = self.value
        config.update(eps=self.eps, exclude=list(self.exclude))
        return config

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)
