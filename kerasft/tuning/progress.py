"""`TrialProgress`: one line per finished trial while `kft.tune` searches.

Each line gives the trial id and status, the hyperparameters it set, its objective, the best
objective so far, a bar over `max_trials`, the elapsed time and an ETA (the mean time of the
trials finished in this run times the trials left). The process that holds the oracle reports
every trial (`poll`): a plain search from `on_trial_end`, `isolate=` and the chief while their
workers run. A distributed worker reports the trials it ran itself (`ran`). The same line is
appended to the trial's folder (`progress.log`, beside KerasTuner's `trial.json`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

_ENDED = ("COMPLETED", "FAILED", "INVALID")


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def bar(done: int, total: int | None, width: int = 20) -> str:
    """A text progress bar of `done` of `total` trials (`total` None: unknown).

    Args:
        done: the trials finished.
        total: the trials the search runs at most, or None where the tuner does not say.
        width: the characters inside the brackets.

    >>> from kerasft.tuning.progress import bar
    >>> bar(1, 4, width=8), bar(3, None)
    ('[##......] 1/4', '3/?')
    """
    if not total:
        return f"{done}/?"
    filled = min(width, math.floor(width * done / total))
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total}"


class TrialProgress:
    """Prints a line per finished trial, with the best so far, a bar, elapsed time and ETA.

    Args:
        objective: the name of the metric the search optimizes, e.g. "val_accuracy".
        max_trials: the trials the search runs at most (None: unknown, as for hyperband).
        already_ended: ids of trials that ended before this run (a resumed search): counted
            as done, not printed, and not in the mean trial time.
        trial_dir: trial id -> its folder, where each line is also appended to `progress.log`.
        prefix: what each line starts with.
        clock: the time source (`time.monotonic`).

    Example:

    >>> from kerasft.tuning.progress import TrialProgress
    >>> ticks = iter([0.0, 30.0])
    >>> progress = TrialProgress("val_accuracy", max_trials=3, clock=lambda: next(ticks))
    >>> line = progress.report("00", "COMPLETED", {"lr": 0.001, "dropout": 0.2}, 0.75, 0.75)
    [kerasft tune] trial 00 COMPLETED val_accuracy=0.75 (best 0.75) lr=0.001 dropout=0.2 \
[######..............] 1/3 elapsed 30s ETA 1m00s
    """

    def __init__(
        self,
        objective: str,
        max_trials: int | None = None,
        already_ended: list[str] | tuple[str, ...] = (),
        trial_dir: Callable[[str], str | Path] | None = None,
        prefix: str = "[kerasft tune]",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.objective = objective
        self.max_trials = max_trials
        self.reported = set(already_ended)
        self.done_before = len(self.reported)
        self.trial_dir = trial_dir
        self.prefix = prefix
        self.clock = clock
        self.started = clock()

    def report(
        self,
        trial_id: str,
        status: str,
        values: Mapping[str, Any],
        score: float | None,
        best: float | None,
        note: str = "",
    ) -> str:
        """Print (and return) the line of one finished trial.

        Args:
            trial_id: the trial's id.
            status: "COMPLETED", "FAILED" or "INVALID".
            values: the hyperparameters the trial set.
            score: its objective, or None (failed).
            best: the best objective so far, or None.
            note: said after the status (why it failed).
        """
        self.reported.add(trial_id)
        elapsed = self.clock() - self.started
        new = len(self.reported) - self.done_before
        done = len(self.reported)
        result = f"{self.objective}={_value(score)}" if score is not None else "no objective"
        if note:
            result += f" ({note})"
        params = " ".join(f"{k}={_value(v)}" for k, v in values.items())
        line = (
            f"{self.prefix} trial {trial_id} {status} {result} (best {_value(best)}) {params} "
            f"{bar(done, self.max_trials)} elapsed {_duration(elapsed)}"
        )
        if self.max_trials:
            left = max(0, self.max_trials - done)
            line += f" ETA {_duration(elapsed / new * left)}"
        print(line, flush=True)
        if self.trial_dir is not None:
            folder = Path(self.trial_dir(trial_id))
            if folder.is_dir():
                with open(folder / "progress.log", "a") as f:
                    f.write(line + "\n")
        return line

    def poll(self, oracle) -> None:
        """Report the trials `oracle` (a KerasTuner `Oracle` this process holds) ended since."""
        for trial_id in list(getattr(oracle, "end_order", [])):
            if trial_id not in self.reported:
                self.ran(oracle, oracle.trials[trial_id])

    def ran(self, oracle, trial) -> None:
        """Report `trial`, which has ended; `oracle` may be a distributed worker's client."""
        trial = oracle.get_trial(trial.trial_id)
        status = str(trial.status)
        if status not in _ENDED or trial.trial_id in self.reported:
            return
        best_trials = oracle.get_best_trials(1)
        best = best_trials[0].score if best_trials else None
        note = ""
        if trial.message and status != "COMPLETED":
            lines = [line for line in str(trial.message).strip().splitlines() if line.strip()]
            note = lines[-1][:120] if lines else ""
        self.report(trial.trial_id, status, trial.hyperparameters.values, trial.score, best, note)


def for_tuner(tuner, worker: bool = False) -> TrialProgress:
    """The `TrialProgress` of a KerasTuner tuner (its objective, max_trials, trial folders).

    Args:
        tuner: a tuner whose oracle is loaded (a resumed search's ended trials count as done).
        worker: a distributed worker: its lines count the trials it ran, with no total.
    """
    oracle = tuner.oracle
    objective = getattr(getattr(oracle, "objective", None), "name", "objective")
    if worker:
        return TrialProgress(
            objective,
            None,
            trial_dir=tuner.get_trial_dir,
            prefix=f"[kerasft tune {tuner.tuner_id}]",
        )
    return TrialProgress(
        objective,
        getattr(oracle, "max_trials", None),
        already_ended=list(getattr(oracle, "end_order", [])),
        trial_dir=tuner.get_trial_dir,
    )
