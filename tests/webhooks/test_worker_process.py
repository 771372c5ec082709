"""`admin-app worker` posts webhooks too: killed mid-batch it loses no event."""

from __future__ import annotations

import os
import signal
from collections import Counter
from typing import Any

from admin_app.admin.registry import REGISTRY
from admin_app.admin.webhook_topics import webhook_topics
from admin_app.audit.recorder import start_recording
from admin_app.models import Category, WebhookEndpoint
from admin_app.settings import Settings
from admin_app.webhooks.capture import start_capture
from admin_app.webhooks.keys import seal
from admin_app.webhooks.signing import new_secret
from tests.email.helpers import start_worker
from tests.helpers import fetch, run, wait_until
from tests.webhooks.receiver import Receiver, verifier

CHANGES = 300
BATCH = 25
PATHS = ("/a", "/b")


def endpoints(settings: Settings, receiver: Receiver) -> dict[str, str]:
    """Two endpoints following categories; their secrets by path."""
    secrets = {path: new_secret() for path in PATHS}

    async def work(session: Any) -> None:
        for path, secret in secrets.items():
            session.add(
                WebhookEndpoint(
                    url=receiver.url(path),
                    models=["category"],
                    events=["create"],
                    secret=seal(settings, secret),
                )
            )

    run(settings, work)
    return secrets


def create_categories(settings: Settings, count: int) -> None:
    """Make `count` categories in one transaction, as any ORM writer would."""
    start_recording()
    start_capture(webhook_topics(view() for view in REGISTRY))

    async def work(session: Any) -> None:
        session.add_all(Category(name=f"Kill {n}", slug=f"kill-{n}") for n in range(count))

    run(settings, work)


def worker_env(settings: Settings, data_dir: Any) -> dict[str, str]:
    passed = {name: os.environ[name] for name in ("PATH", "PYTHONPATH") if name in os.environ}
    return {
        **passed,
        "HOME": os.environ.get("HOME", "/tmp"),
        "DATABASE_URL": settings.database_url,
        "DATA_DIR": str(data_dir),
        "ENVIRONMENT": "test",
        "SECRET_KEY": settings.secret,
        "EMAIL_BACKEND": "console",
        "WEBHOOK_LEASE": "2",
        "WEBHOOK_BATCH_SIZE": str(BATCH),
        "WEBHOOK_POLL_INTERVAL": "0.05",
        "WEBHOOK_BACKOFF": "0.05",
        "WEBHOOK_BACKOFF_MAX": "0.2",
        "WEBHOOK_TIMEOUT": "1",
    }


def held_rows(settings: Settings) -> int:
    query = (
        "SELECT count(*) FROM webhook_delivery WHERE status = 'pending' "
        "AND locked_by IS NOT NULL AND locked_until IS NOT NULL"
    )
    return int(fetch(settings, query)[0][0])


def delivered(settings: Settings) -> int:
    query = "SELECT count(*) FROM webhook_delivery WHERE status = 'delivered'"
    return int(fetch(settings, query)[0][0])


def test_sigkill_mid_batch_loses_no_event(settings, receiver, tmp_path, record_property):
    for path in PATHS:
        receiver.behave(path, delay=0.004)
    secrets = endpoints(settings, receiver)
    create_categories(settings, CHANGES)
    events = [row[0] for row in fetch(settings, "SELECT DISTINCT event_id FROM webhook_delivery")]
    expected = {(path, event) for path in PATHS for event in events}
    assert len(expected) == 2 * CHANGES, "every change is queued once per endpoint"
    env = worker_env(settings, tmp_path)

    first = start_worker(env)
    try:
        wait_until(lambda: len(receiver.received) >= CHANGES // 2, 120, "deliveries under way")
        wait_until(lambda: held_rows(settings) >= 10, 60, "a batch in flight")
        first.send_signal(signal.SIGKILL)
        first.wait(30)
    finally:
        first.kill()
    at_kill = len(receiver.received)
    orphaned = held_rows(settings)
    assert 0 < at_kill < 2 * CHANGES and orphaned > 0, (at_kill, orphaned)

    second = start_worker(env)
    try:
        wait_until(lambda: delivered(settings) == 2 * CHANGES, 180, "every event delivered")
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0, second.stderr.read() if second.stderr else ""
    finally:
        second.kill()

    verify = verifier()
    assert all(verify(secrets[r.path], r.headers, r.body) for r in receiver.received)
    received = Counter((r.path, r.headers["webhook-id"]) for r in receiver.received)
    missing = expected - set(received)
    assert not missing, f"{len(missing)} event(s) lost after SIGKILL"
    assert set(received) == expected, "something was posted that was never queued"
    duplicates = sum(received.values()) - len(received)
    record_property("duplicates", duplicates)
    print(
        f"\nkill test: {2 * CHANGES} deliveries queued, {at_kill} received before SIGKILL "
        f"with {orphaned} claimed and unsent; after restart all delivered, "
        f"{duplicates} duplicate(s)"
    )
    assert duplicates <= len(PATHS), "only the delivery in flight per endpoint may repeat"
