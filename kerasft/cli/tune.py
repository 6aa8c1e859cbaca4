"""`kerasft tune CONFIG`: hyperparameter search from a YAML file.

The YAML holds `kerasft fit` keys (the base configuration) and these search keys:
space (a mapping of parameter -> spec), only (tune just these parameters and those in
space; the rest keep the fit keys' values), tuner, max_trials, objective, direction, directory,
project_name, promote, strategy, max_epochs, sweep_points, isolate (trials per worker process). With --chief / --worker, KerasTuner's
own distributed mode runs: one chief holds the oracle, workers run trials, all share `directory`.
"""

from __future__ import annotations

import argparse
import os

from kerasft.errors import ConfigError

SEARCH_KEYS = (
    "space",
    "only",
    "tuner",
    "max_trials",
    "objective",
    "direction",
    "directory",
    "project_name",
    "promote",
    "strategy",
    "max_epochs",
    "sweep_points",
    "isolate",
)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "tune", help="hyperparameter search over the fine-tuning recipe", description=__doc__
    )
    parser.add_argument("config", help="YAML file: fit keys plus space/tuner/max_trials/...")
    parser.add_argument("--tuner", help="random, grid, bayesian, hyperband or sweep")
    parser.add_argument("--max-trials", type=int, dest="max_trials")
    parser.add_argument("--directory", help="shared results directory")
    parser.add_argument("--overwrite", action="store_true", help="start afresh, not resume")
    role = parser.add_mutually_exclusive_group()
    role.add_argument("--chief", action="store_true", help="run the oracle (distributed mode)")
    role.add_argument("--worker", action="store_true", help="run trials for a chief")
    parser.add_argument("--oracle-ip", default=None, help="chief address (default 127.0.0.1)")
    parser.add_argument("--oracle-port", default=None, help="chief port (default 8000)")
    parser.add_argument("--tuner-id", default=None, help="this worker's id (default worker<pid>)")
    parser.set_defaults(func=run)


def split_config(data: dict) -> tuple[dict, dict]:
    """(search options, fit config) of a tune YAML mapping; both validated."""
    from kerasft import config

    search = {k: data[k] for k in SEARCH_KEYS if k in data}
    fit = {k: v for k, v in data.items() if k not in SEARCH_KEYS}
    try:
        config.validate(fit, source="tune config")
    except ConfigError as err:
        raise ConfigError(f"{err} Search keys: {', '.join(SEARCH_KEYS)}.") from None
    return search, fit


def load(path: str) -> tuple[dict, dict]:
    from kerasft import config

    return split_config(config.read(path))


def set_role(args: argparse.Namespace) -> None:
    """KerasTuner's distributed mode is set by environment variables, read at tuner creation."""
    if not (args.chief or args.worker):
        return
    os.environ["KERASTUNER_ORACLE_IP"] = args.oracle_ip or os.environ.get(
        "KERASTUNER_ORACLE_IP", "127.0.0.1"
    )
    os.environ["KERASTUNER_ORACLE_PORT"] = str(
        args.oracle_port or os.environ.get("KERASTUNER_ORACLE_PORT", "8000")
    )
    if args.chief:
        os.environ["KERASTUNER_TUNER_ID"] = "chief"
    else:
        os.environ["KERASTUNER_TUNER_ID"] = (
            args.tuner_id or os.environ.get("KERASTUNER_TUNER_ID") or f"worker{os.getpid()}"
        )
        if os.environ["KERASTUNER_TUNER_ID"] == "chief":
            raise ConfigError("--worker needs a tuner id other than 'chief' (--tuner-id).")


def run(args: argparse.Namespace) -> int:
    search, fit = load(args.config)
    for key in ("tuner", "max_trials", "directory"):
        if getattr(args, key) is not None:
            search[key] = getattr(args, key)
    set_role(args)
    from kerasft.tuning import SearchSpace, tune

    space = SearchSpace(
        search.pop("space", None), only=search.pop("only", None)
    )  # bad spaces fail before TF work starts
    result = tune(space=space, base=fit, overwrite=args.overwrite, **search)
    if result.rows:
        best = result.best
        print(
            f"[kerasft tune] {len(result.rows)} trials; best {result.objective} = "
            f"{best['objective'] if best else None}; results in {result.directory}"
        )
    else:
        ran = ", ".join(result.trials_run) or "none"
        print(f"[kerasft tune] worker finished; it ran trials: {ran}; the chief writes results")
    return 0
