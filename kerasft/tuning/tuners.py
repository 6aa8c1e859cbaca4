"""KerasTuner tuners by name: random, grid, bayesian, hyperband, sweep (+ `list`, internal).

Each is KerasTuner's own tuner with two kerasft additions: every trial gets its own
directory for resumable checkpoints (`trial_dir` passed to `HyperModel.fit`), and each trial
starts from a cleared Keras session (KerasTuner's `_try_build` clears it). A chief serves
its oracle here (`serve_oracle`); the workers of `isolate=` (tuning/isolate.py, which builds
on this module) stop after their share of trials and record their memory after each.
"""

from __future__ import annotations

from pathlib import Path

import keras_tuner as kt

from kerasft import compat
from kerasft.errors import KerasftError, unknown_name
from kerasft.tuning.oracles import ListOracle, SweepOracle
from kerasft.tuning.progress import for_tuner

TUNERS = ("random", "grid", "bayesian", "hyperband", "sweep")


class _TrialDirMixin:
    def run_trial(self, trial, *args, **kwargs):
        # Trials this process ran: a worker's own account of its share of the search.
        self.__dict__.setdefault("trials_run", []).append(trial.trial_id)
        kwargs["trial_dir"] = self.get_trial_dir(trial.trial_id)
        return super().run_trial(trial, *args, **kwargs)

    def search(self, *args, **kwargs):
        if not compat.is_chief_oracle():
            # A worker (distributed, or of isolate=) holds no oracle: it tells of its own trials.
            self.progress = for_tuner(self, worker=compat.has_chief_oracle())
            try:
                return super().search(*args, **kwargs)
            except _ProcessDone:  # an isolated worker ran its share; a fresh one goes on
                return None
        if "verbose" in kwargs:
            self.oracle.verbose = kwargs["verbose"]
        self.save()
        serve_oracle(self.oracle, progress=for_tuner(self))

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        progress = getattr(self, "progress", None)
        if progress is not None:
            if compat.has_chief_oracle():
                progress.ran(self.oracle, trial)
            else:
                progress.poll(self.oracle)
        limit = getattr(self, "trials_per_process", None)
        if limit:
            record_memory(self.project_dir, self.tuner_id, trial.trial_id)
            if len(self.trials_run) >= limit:
                raise _ProcessDone


class _ProcessDone(Exception):
    pass


def serve_oracle(oracle, poll_s: float = 0.2, progress=None) -> None:
    """The chief's gRPC oracle server, until every worker has stopped.

    KerasTuner's own server polls in 20-second steps once the search is over; this one polls
    every `poll_s` seconds, so the chief writes the results as soon as the last worker ends.
    A `TrialProgress` given as `progress` prints each trial a worker ends.
    """
    import os
    import time

    address = f"{os.environ['KERASTUNER_ORACLE_IP']}:{os.environ['KERASTUNER_ORACLE_PORT']}"
    server, servicer = start_oracle_server(oracle, address)
    try:
        # Over once a worker was told so and no trial or worker is left (KerasTuner's exit_chief).
        while not compat.oracle_search_over(servicer) or oracle.ongoing_trials or oracle.tuner_ids:
            time.sleep(poll_s)
            if progress is not None:
                progress.poll(oracle)
    finally:
        server.stop(grace=1)
    if progress is not None:
        progress.poll(oracle)


def start_oracle_server(oracle, address: str):
    """Serve `oracle` over gRPC at `address`; returns `(server, servicer)`."""
    from concurrent import futures

    import grpc

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    servicer = compat.add_oracle_servicer(oracle, server)
    server.add_insecure_port(address)
    server.start()
    return server, servicer


def record_memory(project_dir, tuner_id: str, trial_id: str) -> None:
    """Append `tuner_id, trial_id, rss_mb` to `<project>/isolate/memory.csv` (`isolate=`)."""
    path = Path(project_dir) / "isolate" / "memory.csv"
    new = not path.exists()
    with open(path, "a") as f:
        if new:
            f.write("worker,trial,rss_mb\n")
        f.write(f"{tuner_id},{trial_id},{_rss_mb():.1f}\n")


def _rss_mb() -> float:
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class RandomSearch(_TrialDirMixin, kt.RandomSearch):
    pass


class GridSearch(_TrialDirMixin, kt.GridSearch):
    pass


class BayesianOptimization(_TrialDirMixin, kt.BayesianOptimization):
    pass


class Hyperband(_TrialDirMixin, kt.Hyperband):
    pass


class ListTuner(_TrialDirMixin, kt.Tuner):
    """Runs a fixed list of configurations (a sweep, or the promoted finalists)."""


def make_tuner(
    name: str,
    hypermodel,
    *,
    objective: kt.Objective,
    max_trials: int,
    directory: str,
    project_name: str,
    overwrite: bool = False,
    seed: int = 0,
    distribution_strategy=None,
    configurations: list[dict] | None = None,
    max_epochs: int = 4,
    sweep_points: int = 3,
) -> kt.Tuner:
    """A KerasTuner tuner by name, sharing one set of options."""
    # KerasTuner reads seed 0 as "no seed" and draws a random one; shifted by one, every
    # kerasft seed (the default 0 included) makes the search draw the same trials again.
    seed = int(seed) + 1
    common = dict(
        hypermodel=hypermodel,
        directory=directory,
        project_name=project_name,
        overwrite=overwrite,
        distribution_strategy=distribution_strategy,
    )
    # A failing trial is recorded and the search goes on; only a run of this many failures
    # in a row (a broken setup, not a bad configuration) stops it.
    failures = dict(max_consecutive_failed_trials=max(10, max_trials))
    oracle_kwargs = dict(objective=objective, seed=seed, **failures)
    if name == "random":
        return RandomSearch(
            objective=objective, max_trials=max_trials, seed=seed, **failures, **common
        )
    if name == "grid":
        return GridSearch(
            objective=objective, max_trials=max_trials, seed=seed, **failures, **common
        )
    if name == "bayesian":
        return BayesianOptimization(
            objective=objective, max_trials=max_trials, seed=seed, **failures, **common
        )
    if name == "hyperband":
        if max_epochs < 2:
            raise KerasftError(f"hyperband needs max_epochs >= 2, got {max_epochs}.")
        return Hyperband(
            objective=objective,
            max_epochs=max_epochs,
            factor=2,
            seed=seed,
            hyperband_iterations=1,
            **failures,
            **common,
        )
    if name == "sweep":
        oracle = SweepOracle(hypermodel.space, points=sweep_points, **oracle_kwargs)
        return ListTuner(oracle=oracle, **common)
    if name == "list":
        return ListTuner(oracle=ListOracle(configurations or [], **oracle_kwargs), **common)
    raise unknown_name("tuner", name, TUNERS)
