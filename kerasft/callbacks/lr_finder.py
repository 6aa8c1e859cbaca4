"""Learning-rate range test (Smith 2017; fastai's `lr_find`) as a callback and a function."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np

from kerasft.errors import KerasftError
from kerasft.optimizers._inner import inner_optimizer, model_optimizer
from kerasft.optimizers.state import TrainingState


def _finite_prefix(lrs: np.ndarray, losses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    bad = np.flatnonzero(~np.isfinite(losses))
    end = bad[0] if bad.size else len(losses)
    return lrs[:end], losses[:end]


def steepest(lrs: np.ndarray, losses: np.ndarray) -> float | None:
    """The rate where the loss falls fastest against log(lr), on its way down to its lowest
    point."""
    lrs, losses = _finite_prefix(lrs, losses)
    # Past the lowest point the loss diverges; a fall there is the smoothed loss coming back
    # from a spike (seen on real runs, at rates where training does not converge at all).
    end = int(np.argmin(losses)) + 1 if len(losses) else 0
    lrs, losses = lrs[:end], losses[:end]
    if len(losses) < 3:
        return None
    slopes = np.gradient(losses, np.log(lrs))
    return float(lrs[int(np.argmin(slopes))])


def valley(lrs: np.ndarray, losses: np.ndarray) -> float | None:
    """fastai's "valley": inside the longest descending stretch of the loss curve, a point
    about halfway down (`max_start + len/3 + len/6`)."""
    lrs, losses = _finite_prefix(lrs, losses)
    n = len(losses)
    if n < 3:
        return None
    lds = np.ones(n, dtype=int)  # longest decreasing subsequence ending at each point
    max_start = max_end = 0
    for i in range(1, n):
        earlier = np.flatnonzero(losses[:i] > losses[i])
        if earlier.size:
            lds[i] = lds[earlier].max() + 1
        if lds[max_end] < lds[i]:
            max_end = i
            max_start = max_end - lds[max_end]
    sections = (max_end - max_start) / 3
    idx = max_start + int(sections) + int(sections / 2)
    return float(lrs[min(max(idx, 0), n - 1)])


def minimum_over_ten(lrs: np.ndarray, losses: np.ndarray) -> float | None:
    """The rate of the lowest loss, divided by ten."""
    lrs, losses = _finite_prefix(lrs, losses)
    if not len(losses):
        return None
    return float(lrs[int(np.argmin(losses))] / 10.0)


def _trim(n: int) -> tuple[int, int]:
    """The slice of an n-point curve that suggestions and plots use."""
    start = n // 10
    end = n - 5 if n - start - 5 >= 3 else n
    return start, end


@dataclass
class LRFinderResult:
    """The range test's curve and suggested learning rates.

    Attributes:
        lrs: the rates tried, one per step.
        losses: the smoothed (EMA, bias-corrected) loss at each step.
        raw_losses: the loss of each batch.
        suggestions: {"steepest": lr, "valley": lr, "minimum": lr}; "valley" is fastai's
            default pick, "minimum" is the lowest-loss rate / 10. As fastai, computed without
            the first tenth of the curve and its last 5 points.
        stopped_early: the loss diverged before `num_steps`.
    """

    lrs: np.ndarray
    losses: np.ndarray
    raw_losses: np.ndarray
    suggestions: dict[str, float | None] = field(default_factory=dict)
    stopped_early: bool = False

    @classmethod
    def from_curve(cls, lrs, losses, raw_losses, stopped_early=False) -> LRFinderResult:
        lrs, losses = np.asarray(lrs, float), np.asarray(losses, float)
        start, end = _trim(len(lrs))
        # As fastai: the first tenth (EMA warm-up noise) and the last 5 points (divergence) say
        # nothing about a good rate.
        kept_lrs, kept_losses = lrs[start:end], losses[start:end]
        suggestions = {
            "steepest": steepest(kept_lrs, kept_losses),
            "valley": valley(kept_lrs, kept_losses),
            "minimum": minimum_over_ten(kept_lrs, kept_losses),
        }
        return cls(lrs, losses, np.asarray(raw_losses, float), suggestions, stopped_early)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: suggestions and the curve."""

        def clean(values):
            return [float(v) if math.isfinite(v) else None for v in values]

        return {
            "suggestions": self.suggestions,
            "stopped_early": self.stopped_early,
            "lrs": clean(self.lrs),
            "losses": clean(self.losses),
            "raw_losses": clean(self.raw_losses),
        }

    def save_json(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2))
        return path

    def plot(
        self,
        path: str | Path | None = None,
        skip_start: int | None = None,
        skip_end: int | None = None,
    ):
        """Loss against learning rate (log scale) with the suggestions marked.

        By default the first tenth and the last 5 points are left out, as for the suggestions.
        Saves a PNG at `path` and returns the path; without `path`, returns the matplotlib
        `Figure`. Uses the Agg canvas directly, so it never touches the global backend.
        """
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        start, end = _trim(len(self.lrs))
        start = start if skip_start is None else skip_start
        end = end if skip_end is None else len(self.lrs) - skip_end
        lrs, losses = self.lrs[start:end], self.losses[start:end]
        fig = Figure(figsize=(6, 4))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        ax.plot(lrs, losses)
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss (smoothed)")
        markers = {"steepest": "o", "valley": "s", "minimum": "^"}
        finite = np.isfinite(losses)
        for name, lr in self.suggestions.items():
            if lr is None or not finite.any():
                continue
            # "minimum" is a tenth of a plotted rate: mark it on the curve's left if need be.
            idx = int(np.argmin(np.abs(np.log(lrs[finite]) - np.log(lr))))
            ax.plot(lr, losses[finite][idx], markers.get(name, "x"), label=f"{name}: {lr:.2e}")
        if any(v is not None for v in self.suggestions.values()):
            ax.legend()
        ax.set_title("Learning-rate range test")
        fig.tight_layout()
        if path is None:
            return fig
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=100)
        return path


class LRFinder(keras.callbacks.Callback):
    """Learning-rate range test: raise the rate exponentially from `min_lr` to `max_lr` over
    `num_steps` batches, record the loss, stop once it diverges (smoothed loss above
    `diverge_factor` times the best, or NaN), then put the weights, the optimizer's state and
    its learning rate back as they were.

    The loss is smoothed by an exponential moving average with bias correction
    (`beta`, as fastai). The model's metrics are reset before each batch so the batch logs
    carry that batch's loss (Keras logs running means). Use `find_lr` for the whole procedure
    on a dataset; the callback works in your own `model.fit` (give it at least `num_steps`
    batches; it stops training when done).

    Args:
        min_lr, max_lr: the range.
        num_steps: steps of the sweep.
        beta: EMA factor for the smoothed loss.
        diverge_factor: stop when the smoothed loss exceeds this times the best.
        restore: put weights and optimizer state back afterwards.

    Attributes (after `fit`): `result` (an `LRFinderResult`), `lrs`, `losses`.

    Example:

    >>> import keras, numpy as np
    >>> import kerasft as kft
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    >>> model.compile(keras.optimizers.SGD(0.01), "mse")
    >>> finder = kft.callbacks.LRFinder(min_lr=1e-5, max_lr=10.0, num_steps=30)
    >>> x, y = np.random.rand(256, 4), np.random.rand(256, 1)
    >>> _ = model.fit(x, y, batch_size=8, epochs=1, callbacks=[finder], verbose=0)
    >>> len(finder.lrs) <= 30 and sorted(finder.result.suggestions)
    ['minimum', 'steepest', 'valley']
    """

    def __init__(
        self,
        min_lr: float = 1e-7,
        max_lr: float = 10.0,
        num_steps: int = 100,
        beta: float = 0.98,
        diverge_factor: float = 4.0,
        restore: bool = True,
    ):
        super().__init__()
        if not 0 < min_lr < max_lr:
            raise KerasftError(
                f"Need 0 < min_lr < max_lr (got min_lr={min_lr!r}, max_lr={max_lr!r})."
            )
        if not isinstance(num_steps, int) or num_steps < 2:
            raise KerasftError(f"num_steps={num_steps!r} must be an integer >= 2.")
        if not 0 <= beta < 1:
            raise KerasftError(f"beta={beta!r} must be in [0, 1).")
        if not diverge_factor > 1:
            raise KerasftError(f"diverge_factor={diverge_factor!r} must be > 1.")
        self.min_lr = float(min_lr)
        self.max_lr = float(max_lr)
        self.num_steps = num_steps
        self.beta = float(beta)
        self.diverge_factor = float(diverge_factor)
        self.restore = restore
        self.result: LRFinderResult | None = None
        self._reset()

    def _reset(self):
        self.lrs: list[float] = []
        self.losses: list[float] = []
        self.raw_losses: list[float] = []
        self._avg = 0.0
        self._best = math.inf
        self._step = 0
        self._stopped_early = False
        self._done = False

    def lr_at(self, step: int) -> float:
        return self.min_lr * (self.max_lr / self.min_lr) ** (step / (self.num_steps - 1))

    def on_train_begin(self, logs=None):
        optimizer = model_optimizer(self.model, "LRFinder")
        if not isinstance(inner_optimizer(optimizer).learning_rate, keras.Variable):
            raise KerasftError(
                "LRFinder sets the learning rate itself: compile with a float learning_rate, "
                "not a LearningRateSchedule."
            )
        self._reset()
        self.result = None
        self._state = TrainingState.capture(self.model) if self.restore else None
        self._original_lr = float(keras.ops.convert_to_numpy(optimizer.learning_rate))

    def on_train_batch_begin(self, batch, logs=None):
        if self._done:
            self.model.stop_training = True
            return
        self.model.optimizer.learning_rate = self.lr_at(self._step)
        # Keras's batch logs are running means over the epoch; reset so they are this batch's.
        self.model.reset_metrics()

    def on_train_batch_end(self, batch, logs=None):
        if self._done:
            return
        loss = float((logs or {}).get("loss", math.nan))
        lr = self.lr_at(self._step)
        self._step += 1
        self._avg = self.beta * self._avg + (1 - self.beta) * loss
        smoothed = self._avg / (1 - self.beta**self._step)
        self.lrs.append(lr)
        self.raw_losses.append(loss)
        self.losses.append(smoothed)
        if not math.isfinite(smoothed) or (
            self._step > 1 and smoothed > self.diverge_factor * self._best
        ):
            self._stopped_early = True
            self._done = True
        self._best = min(self._best, smoothed) if math.isfinite(smoothed) else self._best
        if self._step >= self.num_steps:
            self._done = True
        if self._done:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        self.result = LRFinderResult.from_curve(
            self.lrs, self.losses, self.raw_losses, self._stopped_early
        )
        if self._state is not None:
            self._state.restore()
            self._state = None
        self.model.optimizer.learning_rate = self._original_lr

    def get_config(self) -> dict:
        return {
            "min_lr": self.min_lr,
            "max_lr": self.max_lr,
            "num_steps": self.num_steps,
            "beta": self.beta,
            "diverge_factor": self.diverge_factor,
            "restore": self.restore,
        }

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)


def find_lr(
    model: keras.Model,
    x: Any,
    y: Any = None,
    *,
    batch_size: int | None = None,
    min_lr: float = 1e-7,
    max_lr: float = 10.0,
    num_steps: int = 100,
    beta: float = 0.98,
    diverge_factor: float = 4.0,
    verbose: int = 0,
) -> LRFinderResult:
    """Run the learning-rate range test on a compiled model and data; the model's weights,
    optimizer state and learning rate are the same afterwards.

    Args:
        model: a compiled Keras model with a float learning rate (any project's model).
        x, y: what `model.fit` takes: arrays (with `y`), a `tf.data.Dataset` of batches or a
            `keras.utils.PyDataset`. The data is repeated as needed to reach `num_steps`.
        batch_size: for arrays (default 32).
        min_lr, max_lr, num_steps, beta, diverge_factor: see `LRFinder`.
        verbose: passed to `fit`.

    Returns:
        An `LRFinderResult`: `.lrs`, `.losses`, `.suggestions`, `.plot(path)`.

    Example:

    >>> import keras, numpy as np
    >>> import kerasft as kft
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    >>> model.compile(keras.optimizers.Adam(1e-3), "mse")
    >>> result = kft.callbacks.find_lr(model, np.random.rand(64, 4), np.random.rand(64, 1),
    ...                                batch_size=8, num_steps=20)
    >>> len(result.lrs) <= 20, sorted(result.suggestions)
    (True, ['minimum', 'steepest', 'valley'])
    """
    if getattr(model, "optimizer", None) is None or not getattr(model, "compiled", True):
        raise KerasftError(
            "find_lr needs a compiled model: call model.compile(optimizer, loss) first."
        )
    finder = LRFinder(min_lr, max_lr, num_steps, beta, diverge_factor, restore=True)
    fit_kwargs: dict[str, Any] = {"callbacks": [finder], "verbose": verbose}
    try:
        import tensorflow as tf

        is_dataset = isinstance(x, tf.data.Dataset)
    except ImportError:  # other backends: no tf.data
        is_dataset = False
    if is_dataset:
        if y is not None:
            raise KerasftError(
                "With a tf.data.Dataset, pass the labels inside it (y must be None)."
            )
        model.fit(x.repeat(), steps_per_epoch=num_steps, epochs=1, shuffle=False, **fit_kwargs)
    elif isinstance(x, keras.utils.PyDataset):
        per_epoch = len(x)
        model.fit(x, epochs=math.ceil(num_steps / max(per_epoch, 1)), **fit_kwargs)
    else:
        if y is None:
            raise KerasftError("find_lr with arrays needs y (the targets).")
        n = len(x[0]) if isinstance(x, (list, tuple)) else len(x)
        batch_size = batch_size or 32
        per_epoch = math.ceil(n / batch_size)
        model.fit(
            x, y, batch_size=batch_size, epochs=math.ceil(num_steps / per_epoch), **fit_kwargs
        )
    return finder.result
