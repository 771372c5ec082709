"""Real servers for tests: `admin-app serve` as a child process, and polling with a deadline."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx2

ADMIN_APP = str(Path(sys.executable).parent / "admin-app")
T = TypeVar("T")


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def poll(check: Callable[[], T], *, within: float, what: str, every: float = 0.05) -> T:
    """Call `check` until it returns something truthy; fail with `what` after `within` s."""
    deadline = time.monotonic() + within
    last_error: BaseException | None = None
    while True:
        try:
            result = check()
        except (OSError, httpx2.HTTPError) as error:
            result, last_error = None, error
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {within} s (last error: {last_error})")
        time.sleep(every)


class Server:
    """`admin-app serve` in a child process; its output is collected line by line."""

    def __init__(self, env: dict[str, str], *args: str, log_file: Path | None = None) -> None:
        """With `log_file`, output goes to that file, never blocking the server: a pipe
        read by a busy test process fills up, and the server's log writes then stall."""
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        full_env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **env}
        if "PYTHONPATH" in os.environ:  # a checkout sharing another one's virtualenv serves itself
            full_env.setdefault("PYTHONPATH", os.environ["PYTHONPATH"])
        self.log_file = log_file
        out = log_file.open("w") if log_file else subprocess.PIPE
        self.process = subprocess.Popen(
            [ADMIN_APP, "serve", "--port", str(self.port), *args],
            env=full_env,
            cwd=env.get("DATA_DIR", "/tmp"),
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._output: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def output(self) -> list[str]:
        if self.log_file:
            text = self.log_file.read_text()
            lines = text.splitlines()
            # A line the server is writing right now is not finished: read it next time.
            return lines if text.endswith("\n") or not lines else lines[:-1]
        return self._output

    def _read(self) -> None:
        if self.process.stdout is None:
            return
        for line in self.process.stdout:
            self._output.append(line.rstrip("\n"))

    def url(self, path: str) -> str:
        return self.base + path

    def wait_ready(self, within: float = 60) -> None:
        """Until `/healthz` answers (fails early if the process died)."""

        def up() -> bool:
            if self.process.poll() is not None:
                raise AssertionError("server exited:\n" + "\n".join(self.output))
            return httpx2.get(self.url("/healthz"), timeout=2).status_code == 200

        poll(up, within=within, what="server answering /healthz")

    def lines(self) -> list[dict[str, Any]]:
        """Every output line as JSON; any other line fails the test."""
        parsed = []
        for line in list(self.output):
            try:
                parsed.append(json.loads(line))
            except ValueError:
                raise AssertionError(f"server wrote a line that is not JSON: {line!r}") from None
        return parsed

    def logged(self, **fields: Any) -> list[dict[str, Any]]:
        return [line for line in self.lines() if fields.items() <= line.items()]

    def terminate(self) -> None:
        self.process.send_signal(signal.SIGTERM)

    def wait_exit(self, within: float = 60) -> int:
        try:
            code = self.process.wait(timeout=within)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"server still running {within} s after SIGTERM") from None
        self._reader.join(timeout=10)
        return code

    def close(self) -> None:
        """Make sure the process is gone (after a failed test)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
