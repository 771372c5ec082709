"""`admin-app serve`: run the app under uvicorn, with one or several worker processes.

On SIGTERM (or Ctrl-C) uvicorn stops accepting connections and lets requests in
flight finish, for up to `GRACEFUL_SHUTDOWN_TIMEOUT` seconds; with `--workers N` the
parent passes the signal on to every worker and waits for them all.

Several workers share their metrics through `PROMETHEUS_MULTIPROC_DIR`: this command
makes a private directory for them when none is configured, empties a configured one
before start (stale files would add old counts) and cleans up at exit.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
import uvicorn

from admin_app.audit.context import SYSTEM, set_actor
from admin_app.cli.common import CommandError
from admin_app.observability.logs import configure_logging, logging_config
from admin_app.settings import Settings, load_settings

log = logging.getLogger("admin_app.serve")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

WORKER_HEALTHCHECK_TIMEOUT = 20
"""Seconds the parent waits for a worker to answer its ping before killing it as hung.
uvicorn's default of 5 s can pass while a worker is still importing the app on a busy
machine; the killed worker is then restarted into the same race."""


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option("--reload", is_flag=True, help="Restart on code changes (development only).")
def serve(host: str, port: int, workers: int, reload: bool) -> None:
    """Serve the app. Run `admin-app db upgrade` first: migrations never run on start."""
    settings = load_settings()  # fail here, in one line, rather than inside a worker
    # The server's changes are its web users' (each request names its own) or the
    # app's; none is the OS user's who started it, whom every request would inherit.
    set_actor(SYSTEM)
    if reload and workers > 1:
        raise click.UsageError("--reload and --workers cannot be combined")
    configure_logging(settings)
    with metrics_directory(settings, workers) as metrics_dir:
        shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host  # noqa: S104
        log.info(
            "serving http://%s:%d/admin/",
            shown,
            port,
            extra={
                "environment": settings.environment,
                "workers": workers,
                "metrics_dir": str(metrics_dir) if metrics_dir else None,
            },
        )
        uvicorn.run(
            "admin_app.main:app",
            host=host,
            port=port,
            workers=workers,
            reload=reload,
            proxy_headers=False,  # the app applies FORWARDED_ALLOW_IPS itself
            timeout_graceful_shutdown=settings.graceful_shutdown_timeout,
            # Live messages are a few hundred bytes of JSON; compressing them saves little
            # and costs about 40 KB of zlib state per open WebSocket (bench/ws_capacity.py).
            ws_per_message_deflate=False,
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_TIMEOUT,
            log_config=logging_config(settings),
            log_level=settings.log_level,
            access_log=False,  # ObservabilityMiddleware writes the access lines
            server_header=False,
        )


@contextmanager
def metrics_directory(settings: Settings, workers: int) -> Iterator[Path | None]:
    """A clean `PROMETHEUS_MULTIPROC_DIR` for the workers, exported to them; None if unneeded."""
    configured = settings.prometheus_multiproc_dir
    if configured is None and workers == 1:
        yield None
        return
    directory = configured or Path(tempfile.mkdtemp(prefix="admin-app-metrics-"))
    try:
        directory.mkdir(parents=True, exist_ok=True)
        _empty(directory)
    except OSError as error:
        raise CommandError(
            f"invalid setting PROMETHEUS_MULTIPROC_DIR: cannot use {directory}: {error}"
        ) from None
    # prometheus-client reads this variable itself, in each worker, at import.
    previous = os.environ.get(MULTIPROC_ENV)
    os.environ[MULTIPROC_ENV] = str(directory)
    try:
        yield directory
    finally:
        if previous is None:
            del os.environ[MULTIPROC_ENV]
        else:
            os.environ[MULTIPROC_ENV] = previous
        if configured is None:
            shutil.rmtree(directory, ignore_errors=True)
        else:
            _empty(directory)


def _empty(directory: Path) -> None:
    for stale in directory.glob("*.db"):
        stale.unlink()
