"""`kerasft tensorboard RUN_DIR` serves the run on 127.0.0.1 (the server is a real subprocess)."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import urllib.request

import pytest

from kerasft.cli.main import main
from kerasft.cli.tensorboard import free_port


def test_serves_the_run_on_loopback(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kerasft", "tensorboard", str(run_dir), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        seen = []
        url = None
        while url is None:
            try:
                line = lines.get(timeout=90)
            except queue.Empty:
                pytest.fail(f"no address printed in 90 s; output: {''.join(seen)}")
            seen.append(line)
            match = re.search(r"at (http://\S+) ", line)
            url = match.group(1) if match else None
            assert proc.poll() is None, "".join(seen)
        assert url == f"http://127.0.0.1:{port}/"
        assert str(run_dir) in seen[-1]
        with urllib.request.urlopen(url, timeout=20) as response:
            assert response.status == 200
            assert b"<html" in response.read(4096).lower()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_bad_run_dir_is_a_clean_error(tmp_path, capsys):
    assert main(["tensorboard", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert "is not a directory" in err and "missing" in err
    assert main(["tensorboard", str(tmp_path), "--port", "70000"]) == 2
    assert "not a TCP port" in capsys.readouterr().err


def test_free_port_is_bindable():
    import socket

    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
    assert 0 < port < 65536
