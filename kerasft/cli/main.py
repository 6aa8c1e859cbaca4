"""Entry point of the `kerasft` command.

Every module of `kerasft.cli` that defines `register(subparsers)` adds one sub-command, so a new
command is a new file and nothing else.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import warnings

# TensorFlow's C++ start-up chatter (CUDA probes, CPU flags) buries the command's own output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import kerasft.cli as cli_package
from kerasft.cli.quiet import tensorflow_start_up
from kerasft.errors import KerasftError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kerasft",
        description="Fine-tune pretrained Keras models. Run `kerasft fit` for the default job.",
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="show TensorFlow's start-up messages (CUDA probes, CPU flags), held back by default",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(cli_package.__path__), key=lambda m: m.name):
        if info.name in {"main", "quiet"} or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"kerasft.cli.{info.name}")
        if hasattr(module, "register"):
            module.register(subparsers)
    return parser


def _format_warning(message, category, filename, lineno, line=None) -> str:
    # A user reads what was skipped or changed, not the kerasft source line that warned.
    return f"kerasft: {category.__name__}: {message}\n"


def main(argv: list[str] | None = None) -> int:
    warnings.formatwarning = _format_warning
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        with tensorflow_start_up(quiet=not args.verbose):
            return int(args.func(args) or 0)
    except KerasftError as err:
        # Bad input is the user's to fix: say what and how, without a traceback.
        print(f"kerasft {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
