"""Delivery through the outbox against a real SMTP server: retries, dead letters, leases, outages."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from starlette.testclient import TestClient

from admin_app.db import create_engine, create_sessionmaker, utcnow
from admin_app.email import outbox
from admin_app.email.delivery import Mailer
from admin_app.email.outbox import enqueue
from admin_app.email.worker import Worker
from admin_app.main import create_app
from admin_app.models import OutboxMessage
from admin_app.settings import Settings
from tests.email.helpers import enqueue_many, statuses
from tests.helpers import fetch, post_form, run, update_rows, wait_until


def drain(settings: Settings) -> int:
    """Run one worker until nothing is due; return how many messages it claimed."""

    async def go() -> int:
        engine = create_engine(settings)
        try:
            return await Worker(Mailer(settings, create_sessionmaker(engine))).run_until_idle()
        finally:
            await engine.dispose()

    return asyncio.run(go())


def queue_one(settings: Settings, to: str) -> str:
    async def work(session: Any) -> str:
        row = await enqueue(session, settings, to=to, kind="test", context={})
        return row.message_id

    return run(settings, work)


def row(settings: Settings, to: str) -> dict[str, Any]:
    rows = fetch(
        settings,
        "SELECT status, attempts, last_error, message_id FROM email_outbox WHERE recipient = :to",
        to=to,
    )
    assert len(rows) == 1, rows
    return dict(rows[0]._mapping)


def test_a_rolled_back_transaction_sends_nothing(mail_settings, smtp):
    async def rolled_back() -> None:
        engine = create_engine(mail_settings)
        try:
            async with create_sessionmaker(engine)() as session:
                await enqueue(
                    session, mail_settings, to="ghost@example.com", kind="test", context={}
                )
                await session.rollback()
        finally:
            await engine.dispose()

    asyncio.run(rolled_back())
    queue_one(mail_settings, "real@example.com")
    assert drain(mail_settings) == 1
    (message,) = smtp.wait_for(1)
    assert message.rcpt_tos == ["real@example.com"]
    assert statuses(mail_settings) == {"sent": 1}, "the rolled-back message must not exist"


def test_message_has_both_parts_and_keeps_its_message_id_across_retries(mail_settings, smtp):
    message_id = queue_one(mail_settings, "flaky@example.com")
    drain(mail_settings)
    first = row(mail_settings, "flaky@example.com")
    assert first["status"] == "pending" and first["attempts"] == 1
    assert "451" in first["last_error"], "a temporary refusal is recorded, then retried"
    wait_until(lambda: drain(mail_settings), 10, "the retry after backoff")
    (received,) = smtp.wait_for(1)
    assert received.message_id == message_id, "the Message-ID must survive the retry"
    assert received.message.get_content_type() == "multipart/alternative"
    assert "can send email" in received.text and "<p>" in received.html
    done = row(mail_settings, "flaky@example.com")
    assert done["status"] == "sent" and done["attempts"] == 2 and done["last_error"] == ""


def test_a_permanent_refusal_is_dead_at_once_with_its_error(mail_settings, smtp):
    queue_one(mail_settings, "reject@example.com")
    drain(mail_settings)
    dead = row(mail_settings, "reject@example.com")
    assert dead["status"] == "dead" and dead["attempts"] == 1
    assert "550" in dead["last_error"] and "No such mailbox" in dead["last_error"]


def test_unreachable_server_retries_with_backoff_then_marks_dead(mail_settings, smtp):
    smtp.stop()
    settings = mail_settings.model_copy(
        update={"email_max_attempts": 3, "email_breaker_threshold": 100}
    )
    queue_one(settings, "ada@example.com")
    attempts: list[int] = []

    def attempt() -> bool:
        drain(settings)
        current = row(settings, "ada@example.com")
        attempts.append(current["attempts"])
        return current["status"] == "dead"

    wait_until(attempt, 20, "the message going dead")
    dead = row(settings, "ada@example.com")
    assert dead["attempts"] == 3
    assert dead["last_error"].startswith("cannot connect"), dead["last_error"]
    # Seen between passes: attempts only grow (a loaded machine may fit two in one pass).
    assert attempts == sorted(attempts) and set(attempts) <= {1, 2, 3}, attempts


def test_backoff_doubles_and_is_capped():
    settings = Settings(_env_file=None, email_backoff=30, email_backoff_max=3600)  # type: ignore[call-arg]
    waits = [outbox.backoff(settings, n).total_seconds() for n in range(1, 10)]
    assert waits == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_a_claimed_message_is_not_claimed_again_until_its_lease_expires(mail_settings):
    queue_one(mail_settings, "ada@example.com")

    async def claim(worker: str) -> list[int]:
        engine = create_engine(mail_settings)
        try:
            async with create_sessionmaker(engine).begin() as db:
                batch = await outbox.claim(db, worker=worker, lease=timedelta(seconds=60), limit=10)
                return [message.attempts for message in batch]
        finally:
            await engine.dispose()

    assert asyncio.run(claim("a")) == [1]
    assert asyncio.run(claim("b")) == [], "a leased message belongs to its worker"
    update_rows(mail_settings, OutboxMessage, locked_until=utcnow() - timedelta(seconds=1))
    assert asyncio.run(claim("b")) == [2], "after the lease, another worker takes it over"


def test_smtp_outage_delays_but_loses_nothing(mail_settings, smtp, superuser):
    """Acceptance: stop the SMTP server for a while; everything arrives once it is back."""
    settings = mail_settings.model_copy(
        update={
            "email_breaker_threshold": 2,
            "email_breaker_cooldown": 0.5,
            "email_max_attempts": 100,
            "email_batch_size": 20,
        }
    )
    smtp.stop()
    expected = set(enqueue_many(settings, 60))
    with TestClient(create_app(settings)) as client:
        answer = post_form(client, "/admin/password-reset", {"email": superuser})
        assert answer.status_code == 200, "a dead SMTP server must not break the request"

        def breaker() -> str:
            return str(client.get("/readyz").json()["email"]["breaker"])

        wait_until(lambda: breaker() == "open", 20, "the circuit breaker opening")
        assert statuses(settings).get("sent", 0) == 0
        assert statuses(settings).get("dead", 0) == 0, "an outage must not kill messages"

        smtp.start()
        wait_until(lambda: statuses(settings) == {"sent": 61}, 60, "delivery after the outage")
        assert client.get("/readyz").json()["email"]["breaker"] == "closed"
    received = [message.message_id for message in smtp.messages]
    assert expected <= set(received) and len(received) == 61
    assert len(set(received)) == len(received), "an outage causes no duplicates"


def test_postgres_claimers_skip_each_others_locked_rows(databases, postgres_backend, tmp_path):
    """Two replicas claiming at the same moment get disjoint rows, and neither waits."""
    from tests.conftest import make_settings

    settings = make_settings(database_url=databases.new(postgres_backend, tmp_path))
    enqueue_many(settings, 10)

    async def race() -> tuple[list[int], list[int]]:
        engine = create_engine(settings)
        sessions = create_sessionmaker(engine)
        lease = timedelta(seconds=60)
        try:
            async with sessions.begin() as first:
                mine = await outbox.claim(first, worker="a", lease=lease, limit=6)
                # `first` is still open and holds its row locks while `second` claims.
                async with sessions.begin() as second:
                    theirs = await asyncio.wait_for(
                        outbox.claim(second, worker="b", lease=lease, limit=6), timeout=5
                    )
            return [m.id for m in mine], [m.id for m in theirs]
        finally:
            await engine.dispose()

    mine, theirs = asyncio.run(race())
    assert len(mine) == 6 and len(theirs) == 4
    assert not set(mine) & set(theirs), "a row was claimed twice"
    held = fetch(settings, "SELECT locked_by, count(*) FROM email_outbox GROUP BY locked_by")
    assert dict(held) == {"a": 6, "b": 4}
