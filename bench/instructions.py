"""Instructions per request for one admin page, for this checkout and others: a count
that does not drift with the machine.

    .venv/bin/python -m bench.instructions [--path /admin/customer/list] [--requests 400]
        [CHECKOUT ...]

`bench.cpu` measures time, which on a shared 2-core machine moves by a third within
minutes: a change worth 3% needs many alternating rounds to show. This runs each
checkout's server under valgrind's callgrind (Debian's `valgrind` package), warms it up
uncounted, then counts the user-space instructions of `--requests` requests made by 16
concurrent keep-alive clients, and prints millions per request. Repeated runs agree
within about half a percent, so one run decides. What it does not see: time in the
kernel (sending the page) and memory stalls; confirm a change that looks good here with
`bench.cpu`. The checkouts run side by side on the `make bench` database, each about
fifty times slower than natively, so the count also includes the few refreshes a
ten-second cache makes meanwhile.
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2

from bench.cpu import check_checkouts, comparison_parser
from bench.database import BIN, ROOT, app_environment, prepare_database
from bench.servers import free_port, login

CLIENTS = 16


def main(argv: list[str] | None = None) -> None:
    parser = comparison_parser(__doc__)
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        sys.exit("error: valgrind is not installed (apt-get install valgrind)")
    check_checkouts(args.checkouts)
    prepare_database()
    with tempfile.TemporaryDirectory(prefix="bench-callgrind-") as out:
        counts = asyncio.run(_measure([ROOT, *args.checkouts], args.path, args.requests, out))
    for checkout, count in counts.items():
        print(f"{checkout}: {count / args.requests / 1e6:.3f} M instructions a request")


async def _measure(checkouts: list[Path], path: str, requests: int, out: str) -> dict[Path, int]:
    env = {**os.environ, **app_environment(), "PYTHONHASHSEED": "0"}
    servers = [_start(checkout, n, env, out) for n, checkout in enumerate(checkouts)]
    try:
        counts = await asyncio.gather(
            *(_count(proc, url, path, requests, n, out) for n, (proc, url) in enumerate(servers))
        )
    finally:
        for process, _ in servers:
            process.terminate()
            process.wait(timeout=120)
    return dict(zip(checkouts, counts, strict=True))


Server = tuple[subprocess.Popen[bytes], str]


def _start(checkout: Path, n: int, env: dict[str, str], out: str) -> Server:
    port = free_port()
    command = ["valgrind", "--tool=callgrind", "--instr-atstart=no"]
    command += [f"--callgrind-out-file={out}/{n}.%p", str(BIN / "python"), "-m", "uvicorn"]
    command += ["admin_app.main:app", "--port", str(port), "--workers", "1"]
    command += ["--log-level", "warning", "--no-access-log"]
    log = open(f"{out}/{n}.log", "wb")  # noqa: SIM115 (the server's, closed with the dir)
    process = subprocess.Popen(command, env=env, cwd=checkout, stdout=log, stderr=log)
    return process, f"http://127.0.0.1:{port}"


async def _count(
    process: subprocess.Popen[bytes], url: str, path: str, requests: int, n: int, out: str
) -> int:
    await _until_up(process, url)
    cookie = await asyncio.to_thread(login, url) if path.startswith("/admin") else ""
    await _drive(url, path, cookie, 300)  # warm-up, not counted
    await _control(process, "-i", "on")
    await _drive(url, path, cookie, requests)
    await _control(process, "-i", "off")
    await _control(process, "-d")
    return await asyncio.to_thread(_total, f"{out}/{n}.{process.pid}.*")


def _total(dumps: str) -> int:
    """The instruction total of the first dump (the counted requests) matching `dumps`."""
    dump = min(glob.glob(dumps), key=os.path.getmtime)
    for line in Path(dump).read_text(errors="replace").splitlines():
        if line.startswith("totals:"):  # the dump's "summary:" line reads 0 here
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {dump}")


async def _until_up(process: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + 600
    async with httpx2.AsyncClient() as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                sys.exit(f"error: the server under valgrind exited ({process.returncode})")
            try:
                await client.get(url + "/healthz", timeout=5)
                return
            except httpx2.TransportError:
                await asyncio.sleep(1)
    sys.exit(f"error: {url} did not start under valgrind within 10 minutes")


async def _drive(url: str, path: str, cookie: str, requests: int) -> None:
    """`requests` GETs of `path` from `CLIENTS` concurrent keep-alive clients, sent as
    `wrk` sends them: no `Accept-Encoding` (gzip would be most of the count)."""
    left = requests
    headers = {"Cookie": cookie, "Accept-Encoding": "identity"}
    async with httpx2.AsyncClient(base_url=url, headers=headers, timeout=600) as client:

        async def one_client() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                response = await client.get(path)
                if response.status_code != 200:
                    sys.exit(f"error: {path} answered {response.status_code}")

        await asyncio.gather(*(one_client() for _ in range(CLIENTS)))


async def _control(process: subprocess.Popen[bytes], *args: str) -> None:
    command = ["callgrind_control", *args, str(process.pid)]
    await asyncio.to_thread(subprocess.run, command, check=True, capture_output=True)


if __name__ == "__main__":
    main()
