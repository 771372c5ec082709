"""Debian's PgBouncer in a child process, configured as docs/deploy.md says, for the tests.

Each test starts its own from `deploy/pgbouncer/pgbouncer.ini`, the example the guide
shows, with only its addresses replaced: it listens on a free loopback port, reads
its user list from the test's temporary directory, and stands in front of the
PostgreSQL of `TEST_DATABASE_URL`, where any database a client names is the same
database. Everything else (SCRAM logins, transaction pooling) is the example's.
"""

from __future__ import annotations

import configparser
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from admin_app.settings import PROJECT_ROOT
from tests.servers import free_port

INSTALL = "apt-get install pgbouncer"
EXAMPLE = PROJECT_ROOT / "deploy" / "pgbouncer" / "pgbouncer.ini"
PASSWORD = "bouncer-password"
"""What clients give PgBouncer when PostgreSQL itself asks for no password."""


def pgbouncer_binary() -> str:
    """Debian installs it in /usr/sbin, which a non-root PATH may lack."""
    found = shutil.which("pgbouncer", path=f"{os.environ.get('PATH', '')}:/usr/sbin")
    if found is None:
        pytest.fail(f"PgBouncer is not installed; these tests need it: {INSTALL}")
    return found


class PgBouncer:
    """One PgBouncer; a context manager that always stops it."""

    def __init__(self, server_url: str, directory: Path, *, pool_size: int) -> None:
        self.server = make_url(server_url)
        self.password = self.server.password or PASSWORD
        self.directory = directory
        self.pool_size = pool_size
        self.port = free_port()
        self.log_path = directory / "pgbouncer.log"
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, database: str) -> str:
        """A `DATABASE_URL` for `database` through this bouncer."""
        url = self.server.set(
            host="127.0.0.1", port=self.port, database=database, password=self.password
        )
        return url.render_as_string(hide_password=False)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def __enter__(self) -> PgBouncer:
        self.directory.mkdir(parents=True, exist_ok=True)
        config = self._write_config()
        # PgBouncer refuses to run as root unless told whom to become.
        user = ["-u", "postgres"] if os.geteuid() == 0 else []
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [pgbouncer_binary(), *user, str(config)], stdout=log, stderr=log
            )
        try:
            self._wait_until_listening(deadline=time.monotonic() + 15)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_: Any) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def _write_config(self) -> Path:
        users = self.directory / "userlist.txt"
        users.write_text(f'"{self.server.username}" "{self.password}"\n')
        config = configparser.ConfigParser(interpolation=None)
        config.read(EXAMPLE)
        config["databases"] = {"*": f"host={self.server.host} port={self.server.port or 5432}"}
        config["pgbouncer"].update(
            listen_addr="127.0.0.1",
            listen_port=str(self.port),
            unix_socket_dir="",
            auth_file=str(users),
            default_pool_size=str(self.pool_size),
        )
        path = self.directory / "pgbouncer.ini"
        with path.open("w") as out:
            config.write(out)
        return path

    def _wait_until_listening(self, deadline: float) -> None:
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"pgbouncer exited at start:\n{self.log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)  # polling until it listens
        raise AssertionError(f"pgbouncer did not listen within 15 s:\n{self.log()}")
