"""Trials in recycled worker processes: `kft.tune(isolate=N)`.

TensorFlow keeps some memory of every model it traced, even after
`keras.backend.clear_session()` (3 to 4 MB per trial of the tiny CNN of
`kerasft.tuning.backbones` on CPU, tests/test_tuning_memory.py), so a long search in one
process grows without bound. With `isolate=N`, the calling process keeps the oracle and
serves it on a loopback port (KerasTuner's chief/worker protocol); trials run in a worker
process (`python -m kerasft.tuning.isolate SPEC`) that exits after N trials and is replaced
by a fresh one. Memory is then bounded by what N trials need. A worker that dies mid-trial
(killed, out of memory) loses nothing: its trial is queued again and resumes from its last
epoch checkpoint in the next worker.

Each worker appends `worker, trial, rss_mb` to `<project>/isolate/memory.csv` after every
trial, and its output goes to `<project>/isolate/worker_<i>.log`.
"""

from __future__ import annotations

import os
import pickle
import socket
import subprocess
import sys
import time
from pathlib import Path

from kerasft import compat
from kerasft.errors import KerasftError
from kerasft.tuning.progress import for_tuner
from kerasft.tuning.tuners import make_tuner, start_oracle_server

# A run of this many workers failing without finishing a trial stops the search.
MAX_FAILED_WORKERS = 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check_data(train, val) -> None:
    for name, part in (("train", train), ("val", val)):
        if part is not None and not (isinstance(part, (tuple, list)) and len(part) == 2):
            raise KerasftError(
                f"isolate= needs {name} as (images, labels) arrays to hand to worker "
                f"processes, got {type(part).__name__}; pass arrays or isolate=None."
            )


def run_isolated(tuner, spec: dict, train, val, trials_per_worker: int, verbose=0) -> None:
    """Run `tuner`'s search in worker processes of `trials_per_worker` trials each.

    `tuner` is the (non-distributed) tuner whose oracle this process keeps; `spec` holds what
    a worker needs to build the same tuner: `make_tuner` keyword arguments (picklable).
    """
    import numpy as np

    folder = Path(tuner.project_dir) / "isolate"
    folder.mkdir(parents=True, exist_ok=True)
    data = {"x": np.asarray(train[0]), "y": np.asarray(train[1])}
    if val is not None:
        data.update(x_val=np.asarray(val[0]), y_val=np.asarray(val[1]))
    np.savez(folder / "data.npz", **data)
    spec = dict(spec, trials_per_worker=int(trials_per_worker), verbose=verbose)
    try:
        payload = pickle.dumps(spec)
    except (pickle.PicklingError, TypeError, AttributeError) as err:
        raise KerasftError(
            f"isolate= hands the search to worker processes, but part of it cannot be "
            f"pickled ({err}); pass a strategy by name and module-level callbacks."
        ) from None
    (folder / "spec.pkl").write_bytes(payload)

    oracle = tuner.oracle
    oracle.verbose = verbose
    port = _free_port()
    server, servicer = start_oracle_server(oracle, f"127.0.0.1:{port}")
    env = {
        **os.environ,
        "KERASTUNER_ORACLE_IP": "127.0.0.1",
        "KERASTUNER_ORACLE_PORT": str(port),
    }
    # The workers' own lines go to their logs; this process, which holds the oracle, prints.
    progress = for_tuner(tuner)
    failed_in_a_row, index = 0, len(list(folder.glob("worker_*.log")))
    try:
        while not compat.oracle_search_over(servicer):
            tuner_id = f"isolated{index}"
            log_path = folder / f"worker_{index}.log"
            before = _ended(oracle)
            with open(log_path, "w") as log:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "kerasft.tuning.isolate", str(folder / "spec.pkl")],
                    env={**env, "KERASTUNER_TUNER_ID": tuner_id},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
                try:
                    while (returncode := proc.poll()) is None:
                        time.sleep(0.2)
                        progress.poll(oracle)
                finally:
                    if proc.poll() is None:
                        proc.kill()
                        proc.wait()
            # No worker is alive, so nothing else touches the oracle now.
            oracle.tuner_ids.discard(tuner_id)
            stranded = oracle.ongoing_trials.pop(tuner_id, None)
            if stranded is not None:  # the worker died mid-trial: resume it in the next
                compat.queue_trial_retry(oracle, stranded.trial_id)
            progress.poll(oracle)
            completed, ended = _ended(oracle)
            progressed = completed > before[0] or (returncode == 0 and ended > before[1])
            failed_in_a_row = 0 if progressed else failed_in_a_row + 1
            if failed_in_a_row >= MAX_FAILED_WORKERS:
                tail = log_path.read_text()[-3000:]
                raise KerasftError(
                    f"{MAX_FAILED_WORKERS} trial worker processes in a row failed without "
                    f"completing a trial (last exit status {returncode}); last log "
                    f"{log_path}:\n{tail}"
                )
            index += 1
        while oracle.ongoing_trials:
            time.sleep(0.1)
    finally:
        server.stop(grace=1)
    oracle.save()


def _ended(oracle) -> tuple[int, int]:
    """(completed, completed or failed) trials."""
    statuses = [t.status for t in oracle.trials.values()]
    completed = statuses.count("COMPLETED")
    return completed, completed + statuses.count("FAILED")


def worker_main(spec_path: str) -> int:
    """A worker process: build the tuner from the spec and run at most N trials."""
    import numpy as np

    from kerasft.tuning.strategy import resolve_strategy

    spec = pickle.loads(Path(spec_path).read_bytes())
    with np.load(Path(spec_path).parent / "data.npz") as data:
        train = (data["x"], data["y"])
        val = (data["x_val"], data["y_val"]) if "x_val" in data else None
    hypermodel = spec["hypermodel"]
    hypermodel.strategy = resolve_strategy(spec["strategy"])
    tuner = make_tuner(
        spec["tuner"],
        hypermodel,
        **{**spec["tuner_kwargs"], "overwrite": False},
        distribution_strategy=hypermodel.strategy,
    )
    tuner.trials_per_process = spec["trials_per_worker"]
    tuner.search(train, val, verbose=spec["verbose"], callbacks=list(spec["callbacks"]))
    return 0


if __name__ == "__main__":
    sys.exit(worker_main(sys.argv[1]))
