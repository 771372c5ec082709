"""Real app servers for tests: `uvicorn admin_app.main:app` in a subprocess, on a free port.

Each server binds port 0 and the test reads the port uvicorn reports, so parallel
runs never fight over a fixed port. Settings reach it through the environment,
exactly as in production.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx2

from admin_app.settings import Settings
from tests.conftest import TEST_SECRET

_RUNNING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")


def server_env(database_url: str, data_dir: Path, **overrides: str) -> dict[str, str]:
    """The environment of a test server: only what the tests decide, nothing from the shell."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
    env.update(
        ENVIRONMENT="test",
        SECRET_KEY=TEST_SECRET,
        DATABASE_URL=database_url,
        DATA_DIR=str(data_dir),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env


class AppServer:
    """One uvicorn process serving the app; a context manager that always stops it."""

    def __init__(
        self, env: dict[str, str], log_path: Path, *extra_args: str, port: int = 0
    ) -> None:
        self.env = env
        self.log_path = log_path
        self.args = extra_args
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/admin/ws"

    def __enter__(self) -> AppServer:
        command = [sys.executable, "-m", "uvicorn", "admin_app.main:app", "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--no-proxy-headers", "--no-access-log", *self.args]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, env=self.env, cwd=self.log_path.parent, stdout=log, stderr=log
            )
        try:
            self.port = self._wait_for_port(deadline=time.monotonic() + 30)
            self._wait_until_healthy(deadline=time.monotonic() + 30)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_: Any) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self) -> None:
        """Stop, then serve again on the same port (a deploy, as a browser sees it)."""
        self.__exit__()
        self.__enter__()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def _wait_for_port(self, deadline: float) -> int:
        assert self.process is not None
        while time.monotonic() < deadline:
            found = _RUNNING.search(self.log())
            if found:
                return int(found.group(1))
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited at start:\n{self.log()}")
            time.sleep(0.05)  # polling the log file for uvicorn's start line
        raise AssertionError(f"the server did not start within 30 s:\n{self.log()}")

    def _wait_until_healthy(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            try:
                if httpx2.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx2.TransportError:
                pass
            time.sleep(0.05)  # polling until the server answers
        raise AssertionError(f"the server never answered /healthz:\n{self.log()}")


class ThreadedServer:
    """uvicorn serving an app in a thread of the test process, so a test can look inside."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    @property
    def state(self) -> dict[str, Any]:
        """The app's lifespan state (`live`, `engine`, ...)."""
        return self.server.lifespan.state  # type: ignore[no-any-return]

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise AssertionError("the in-process server did not start")
            time.sleep(0.02)  # polling until uvicorn reports it is serving
        return self

    def __exit__(self, *_: Any) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
