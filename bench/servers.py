"""The servers under test: started on free loopback ports, logged in to, and weighed."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2

from bench.database import BIN, PASSWORD, ROOT, user_email

CSRF_COOKIE = "starlette_admin_csrftoken"


@dataclass
class Server:
    url: str
    pid: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(app: str, env: dict[str, str], cwd: Path = ROOT) -> Iterator[Server]:
    """A uvicorn process with one worker, serving `app` from `cwd`, stopped on exit.

    Its output (the admin writes a JSON line per request) goes to a temporary file, as
    a server's log goes to a collector in production; shown on the terminal it buried
    the table and cost the admin a terminal write per request. If the server does not
    start, the end of its log is shown."""
    port = free_port()
    command = [str(BIN / "uvicorn"), app, "--port", str(port), "--workers", "1"]
    command += ["--log-level", "warning", "--no-access-log"]
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=log, stderr=log)
        try:
            problem = _wait_until_up(port, process)
            if problem is not None:
                log.seek(0)
                sys.exit(f"{log.read()[-3000:]}\nerror: {url} {problem}")
            yield Server(url, process.pid)
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_until_up(port: int, process: subprocess.Popen[bytes]) -> str | None:
    """None once the port accepts connections, else what went wrong."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return f"exited with status {process.returncode}"
        try:
            with socket.create_connection(("127.0.0.1", port), 0.5):
                return None
        except OSError:
            time.sleep(0.2)
    return "did not start within 60 seconds"


def login(base: str, user: int = 1) -> str:
    """Bench user `user`'s cookies after a real login, as one Cookie header."""
    with httpx2.Client(base_url=base) as client:
        client.get("/admin/login")
        token = client.cookies[CSRF_COOKIE]
        form = {"username": user_email(user), "password": PASSWORD, "csrftoken": token}
        response = client.post("/admin/login", data=form)
        if response.status_code != 303:
            sys.exit(f"error: bench login as {user_email(user)} failed ({response.status_code})")
        # Login drops the CSRF cookie issued before it; a browser gets a new one with the
        # next page and sends it from then on. Without it every request would be issued
        # a fresh token, as no browser's is.
        client.get("/admin/")
        if CSRF_COOKIE not in client.cookies:
            sys.exit("error: the admin issued no CSRF cookie after login")
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


def check(url: str, cookie: str, header: str = "") -> None:
    """Exit with one line unless `url` answers 200 to `cookie` and `header` (a `Name: value`
    line), without following redirects."""
    headers = _cookie(cookie)
    if header:
        name, _, value = header.partition(":")
        headers[name] = value.strip()
    response = httpx2.get(url, headers=headers, follow_redirects=False)
    if response.status_code != 200:
        sys.exit(f"error: {url} answered {response.status_code}; is the login working?")


def weigh(url: str, cookie: str) -> tuple[int, int]:
    """Bytes of the page at `url`: its HTML, and as sent to a browser that accepts gzip
    (the same bytes if the server did not compress it)."""
    sizes = []
    for encoding in ("identity", "gzip"):
        headers = {**_cookie(cookie), "Accept-Encoding": encoding}
        with httpx2.stream("GET", url, headers=headers, follow_redirects=False) as response:
            if response.status_code != 200:
                sys.exit(f"error: {url} answered {response.status_code}")
            sizes.append(sum(len(chunk) for chunk in response.iter_raw()))
    return sizes[0], sizes[1]


def _cookie(cookie: str) -> dict[str, str]:
    return {"Cookie": cookie} if cookie else {}


def rss_mb(pid: int) -> float:
    """The resident set size of process `pid` now, in MB (MiB, as /proc counts)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


class RssSampler:
    """The largest resident set size of a process, sampled every 50 ms in a thread."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0.0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> float:
        """The peak, in MB."""
        self.stopping.set()
        self.thread.join()
        return self.peak

    def _run(self) -> None:
        while not self.stopping.wait(0.05):
            self.peak = max(self.peak, rss_mb(self.pid))
