"""`kerasft tensorboard RUN_DIR`: serve a run's TensorBoard logs on this machine only.

$ kerasft tensorboard runs/2024-05-01-mobilenet
TensorBoard for runs/2024-05-01-mobilenet at http://127.0.0.1:50123/ (Ctrl+C to stop)
"""

from __future__ import annotations

import argparse
import socket
import time
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "tensorboard",
        help="start TensorBoard on a run directory (127.0.0.1, a free port) and print its address",
        description=(
            "Serve the TensorBoard logs under RUN_DIR (Keras's TensorBoard callback and "
            "kerasft's TensorBoardExtras write there) until Ctrl+C. The server listens on "
            "127.0.0.1 only, on a free port unless --port is given."
        ),
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="directory holding the event files")
    parser.add_argument(
        "--port", type=int, default=0, help="port to listen on (default: a free one)"
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1, this machine only)",
    )
    parser.set_defaults(func=run)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on `host` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def run(args: argparse.Namespace) -> int:
    from kerasft.errors import KerasftError

    run_dir = Path(args.run_dir).expanduser()
    if not run_dir.is_dir():
        raise KerasftError(
            f"RUN_DIR {str(run_dir)!r} is not a directory; give the log_dir of a run "
            f"(the one passed to keras.callbacks.TensorBoard or `kerasft fit --run-dir`)."
        )
    if not 0 <= args.port <= 65535:
        raise KerasftError(f"--port {args.port} is not a TCP port (1-65535, or 0 for a free one).")
    port = args.port or free_port(args.host)

    from tensorboard import program

    board = program.TensorBoard()
    # One process (no Rust data server): simplest to stop, and fast enough for a run's logs.
    board.configure(
        argv=[
            None,
            "--logdir",
            str(run_dir),
            "--host",
            args.host,
            "--port",
            str(port),
            "--load_fast=false",
        ]
    )
    try:
        url = board.launch()
    except program.TensorBoardServerException as err:
        raise KerasftError(
            f"TensorBoard could not listen on {args.host}:{port}: {err}. Try another --port."
        ) from err
    print(f"TensorBoard for {run_dir} at {url} (Ctrl+C to stop)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
