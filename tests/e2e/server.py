"""A real uvicorn serving the app in a subprocess, for the browser tests.

The server runs `admin-app serve`, exactly as ops would, on a free loopback port,
with its settings in environment variables only. It is ready when `/healthz`
answers; if it dies or never answers, the test fails with its log.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

START_DEADLINE = 30.0
"""Seconds the server may take to answer `/healthz` (imports dominate, about 2 s)."""

STOP_DEADLINE = 10.0
"""Seconds allowed for a graceful stop before the server is killed."""


class ServerError(Exception):
    """The server could not be started; the message ends with its log."""


@dataclass
class LiveServer:
    """A running server: where it answers and where it writes its log."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        """Everything the server has written so far (stdout and stderr)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> str | None:
        """Stop gracefully (SIGTERM, as a process manager would); kill it if it hangs.

        Returns None after a clean stop, otherwise what went wrong.
        """
        if self.process.poll() is not None:
            return f"the server had already exited with status {self.process.returncode}"
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(STOP_DEADLINE)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(STOP_DEADLINE)
            return f"the server ignored SIGTERM for {STOP_DEADLINE:.0f} s and was killed"
        # After its graceful shutdown uvicorn re-raises the signal: -SIGTERM is a clean stop.
        return None if code in (0, -signal.SIGTERM) else f"the server stopped with status {code}"


def free_port() -> int:
    """A loopback port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(env: dict[str, str], workdir: Path, port: int | None = None) -> LiveServer:
    """Start `admin-app serve` with `env` on `port` (default: a free one); return once
    `/healthz` answers."""
    port = port or free_port()
    log_path = workdir / "server.log"
    command = [_cli(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=workdir,  # no developer's `.env` is picked up
            env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(f"http://127.0.0.1:{port}", process, log_path)
    try:
        _wait_until_healthy(server)
    except ServerError:
        server.stop()
        raise
    return server


def _cli() -> str:
    """The `admin-app` script of the interpreter running the tests."""
    return str(Path(sys.executable).with_name("admin-app"))


def _wait_until_healthy(server: LiveServer) -> None:
    deadline = time.monotonic() + START_DEADLINE
    while time.monotonic() < deadline:
        if _healthy(server.url):
            return
        try:
            # Waits a little, and notices at once if the server died.
            code = server.process.wait(timeout=0.1)
        except subprocess.TimeoutExpired:
            continue
        raise ServerError(f"the server exited with status {code}:\n{server.log()}")
    raise ServerError(
        f"the server did not answer {server.url}/healthz within {START_DEADLINE:.0f} s:\n"
        f"{server.log()}"
    )


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False
