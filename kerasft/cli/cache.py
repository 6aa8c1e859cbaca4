"""`kerasft cache`: list and clear cached backbone features.

kerasft cache ls [--dir DIR]
kerasft cache clear (--all | ID [ID ...] | --older-than DAYS) [--dir DIR]
"""

from __future__ import annotations

import argparse
import time

from kerasft.errors import KerasftError


def register(subparsers: argparse._SubParsersAction) -> None:
    # kerasft.paths, not kerasft.cache (which loads TensorFlow): every command builds this parser.
    from kerasft.paths import kerasft_cache_dir

    parser = subparsers.add_parser(
        "cache",
        help="list or clear cached backbone features",
        description=f"Manage the feature caches kerasft keeps in {kerasft_cache_dir() / 'features'} "
        "($KERASFT_CACHE/features).",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    lst = actions.add_parser("ls", help="one line per cached model key, with its size")
    lst.add_argument("--dir", help="the cache root (default: %(default)s)", default=None)
    lst.set_defaults(func=run_ls)
    clr = actions.add_parser("clear", help="delete cached features")
    clr.add_argument("ids", nargs="*", metavar="ID", help="ids (or id prefixes) from `ls`")
    clr.add_argument("--all", action="store_true", help="delete every cache")
    clr.add_argument(
        "--older-than", type=float, metavar="DAYS", help="delete caches unused for DAYS days"
    )
    clr.add_argument("--dir", help="the cache root", default=None)
    clr.set_defaults(func=run_clear)


def _age(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:.0f}m ago"
    if seconds < 86400:
        return f"{seconds / 3600:.0f}h ago"
    return f"{seconds / 86400:.0f}d ago"


def run_ls(args: argparse.Namespace) -> int:
    from kerasft.cache import ls
    from kerasft.cache.budget import human
    from kerasft.cache.store import default_root

    rows = ls(args.dir)
    root = args.dir or default_root()
    if not rows:
        print(f"No cached features in {root}.")
        return 0
    header = (
        "ID",
        "BACKBONE",
        "CUT",
        "SIZE",
        "FEATURES",
        "DTYPE",
        "VIEWS",
        "ROWS",
        "BYTES",
        "USED",
    )
    table = [
        (
            r["id"][:12],
            str(r["backbone"]),
            str(r["cut"]),
            "x".join(map(str, r["image_size"] or [])) or "-",
            "x".join(map(str, r["feature_shape"] or [])),
            str(r["dtype"]),
            str(r["views"]),
            str(r["rows"]),
            human(r["bytes"]),
            _age(time.time() - r["last_used"]),
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in (header, *table)) for i in range(len(header))]
    for row in (header, *table):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    total = sum(r["bytes"] for r in rows)
    print(f"{len(rows)} cache(s), {human(total)} in {root}")
    return 0


def run_clear(args: argparse.Namespace) -> int:
    from kerasft.cache import clear
    from kerasft.cache.budget import human

    if not (args.all or args.ids or args.older_than is not None):
        raise KerasftError(
            "say what to clear: --all, one or more IDs from `kerasft cache ls`, or "
            "--older-than DAYS."
        )
    if args.all and args.ids:
        raise KerasftError("pass either --all or IDs, not both.")
    removed = clear(args.dir, ids=args.ids or None, older_than_days=args.older_than)
    if args.ids:
        unknown = [i for i in args.ids if not any(r["id"].startswith(i) for r in removed)]
        if unknown:
            raise KerasftError(
                f"no cache with id {', '.join(unknown)}; see `kerasft cache ls` for the ids."
            )
    print(f"Removed {len(removed)} cache(s), {human(sum(r['bytes'] for r in removed))}.")
    return 0
