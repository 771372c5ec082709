"""Helpers for the email tests: fill the outbox, read it back, run the worker as a process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from admin_app.email.outbox import enqueue
from admin_app.settings import Settings
from tests.email.sink import SmtpSink
from tests.helpers import fetch, run

ADMIN_APP = str(Path(sys.executable).parent / "admin-app")


def enqueue_many(settings: Settings, count: int, prefix: str = "user") -> list[str]:
    """Queue `count` test messages in one transaction; return their Message-IDs."""

    async def work(session: Any) -> list[str]:
        rows = [
            await enqueue(session, settings, to=f"{prefix}{n}@example.com", kind="test", context={})
            for n in range(count)
        ]
        return [row.message_id for row in rows]

    return run(settings, work)


def statuses(settings: Settings) -> dict[str, int]:
    rows = fetch(settings, "SELECT status, count(*) FROM email_outbox GROUP BY status")
    return {str(status): int(count) for status, count in rows}


def held_rows(settings: Settings) -> int:
    """Claimed but not yet sent: a batch in flight."""
    return int(
        fetch(
            settings,
            "SELECT count(*) FROM email_outbox WHERE status = 'pending' AND locked_by IS NOT NULL"
            " AND locked_until IS NOT NULL",
        )[0][0]
    )


def worker_env(settings: Settings, sink: SmtpSink, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        **{name: os.environ[name] for name in ("PATH", "PYTHONPATH") if name in os.environ},
        "HOME": os.environ.get("HOME", "/tmp"),
        "DATABASE_URL": settings.database_url,
        "DATA_DIR": str(data_dir),
        "ENVIRONMENT": "test",
        "SECRET_KEY": settings.secret,
        "EMAIL_BACKEND": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(sink.port),
        "EMAIL_FROM": "Store Admin <admin@store.test>",
        "EMAIL_POLL_INTERVAL": "0.05",
        "EMAIL_BACKOFF": "0.05",
        "EMAIL_BACKOFF_MAX": "0.2",
    }
    env.update(extra)
    return env


def start_worker(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    """`admin-app worker` as its own process, as ops would run it."""
    return subprocess.Popen(
        [ADMIN_APP, "worker", *args],
        env=env,
        cwd=env["DATA_DIR"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
