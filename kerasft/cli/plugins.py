"""`kerasft plugins`: every callback name with where it comes from (kerasft, keras or a package).

$ kerasft plugins
NAME                  ORIGIN                 STATUS  TARGET
backup_and_restore    keras                  ok      keras.callbacks:BackupAndRestore
...
mlflow                kerasft-mlflow 0.1.0   ok      kerasft_mlflow:MLflowLogger
"""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plugins",
        help="list the callbacks usable by name, with their origin (kerasft, keras or a plugin)",
        description=(
            "List every callback name that `kft.callbacks.get` and the `callbacks:` entry of a "
            "config accept: kerasft's, Keras's and those that installed packages register under "
            "the 'kerasft.callbacks' entry point group. Each one is imported to check it works."
        ),
    )
    parser.add_argument(
        "--plugins-only", action="store_true", help="list only callbacks from installed packages"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import warnings

    from kerasft.callbacks import registry
    from kerasft.errors import KerasftError

    rows = []
    with warnings.catch_warnings():
        # Problems are shown in the table; a warning on top would say it twice.
        warnings.simplefilter("ignore")
        for info in registry.entries():
            if args.plugins_only and info.origin in ("kerasft", "keras"):
                continue
            try:
                registry.get_class(info.name)
                status = "ok"
            except KerasftError as err:
                status = f"error: {err}"
            rows.append((info.name, info.origin, status, info.target))
    if not rows:
        print("No callback plugins are installed (entry point group 'kerasft.callbacks').")
        return 0
    header = ("NAME", "ORIGIN", "STATUS", "TARGET")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in (0, 1)]
    for name, origin, status, target in [header, *rows]:
        short = status if status in ("ok", "STATUS") else "error"
        print(f"{name:<{widths[0]}}  {origin:<{widths[1]}}  {short:<6}  {target}")
    broken = [(name, status) for name, _, status, _ in rows if status.startswith("error")]
    for name, status in broken:
        print(f"{name}: {status}", file=sys.stderr)
    return 0
