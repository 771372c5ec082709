"""`admin-app worker` as a separate process: killed mid-batch it loses nothing; it stops cleanly."""

from __future__ import annotations

import signal
from collections import Counter

from tests.email.helpers import enqueue_many, held_rows, start_worker, statuses, worker_env
from tests.helpers import fetch, wait_until

MESSAGES = 1000
BATCH = 50


def test_sigkill_mid_batch_loses_no_message(settings, smtp, tmp_path, record_property):
    expected = set(enqueue_many(settings, MESSAGES))
    env = worker_env(settings, smtp, tmp_path, EMAIL_LEASE="2", EMAIL_BATCH_SIZE=str(BATCH))

    first = start_worker(env)
    try:
        smtp.wait_for(MESSAGES // 4, timeout=120)
        # Kill while the worker holds a batch with plenty of it still unsent.
        wait_until(lambda: held_rows(settings) >= 10, 60, "a batch in flight")
        first.send_signal(signal.SIGKILL)
        first.wait(30)
    finally:
        first.kill()
    at_kill = len(smtp.messages)
    orphaned = held_rows(settings)
    assert 0 < at_kill < MESSAGES and orphaned > 0, (at_kill, orphaned)

    second = start_worker(env)
    try:
        wait_until(
            lambda: statuses(settings).get("sent") == MESSAGES, 180, "every message marked sent"
        )
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0, second.stderr.read() if second.stderr else ""
    finally:
        second.kill()

    received = Counter(message.message_id for message in smtp.messages)
    missing = expected - set(received)
    assert not missing, f"{len(missing)} message(s) lost after SIGKILL"
    assert set(received) == expected, "something was sent that was never queued"
    duplicates = sum(received.values()) - len(received)
    record_property("duplicates", duplicates)
    print(
        f"\nkill test: {MESSAGES} queued, {at_kill} received before SIGKILL with {orphaned} "
        f"claimed and unsent; after restart all delivered, {duplicates} duplicate(s)"
    )
    assert duplicates <= 1, "only the message in flight at the kill may arrive twice"
    retried = fetch(settings, "SELECT count(*) FROM email_outbox WHERE attempts = 2")[0][0]
    assert retried >= orphaned - 1, "the orphaned batch was claimed again after its lease"


def test_worker_stops_cleanly_on_sigterm_and_once_mode_drains(settings, smtp, tmp_path):
    enqueue_many(settings, 5)
    env = worker_env(settings, smtp, tmp_path)
    worker = start_worker(env, "--once")
    out, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, err
    assert "worker: 5 message(s) handled" in out
    assert len(smtp.wait_for(5)) == 5
    assert statuses(settings) == {"sent": 5}

    idle = start_worker(env)
    try:
        wait_until(lambda: "sending through smtp://127.0.0.1" in _peek(idle), 30, "worker start")
    finally:
        idle.send_signal(signal.SIGTERM)
        assert idle.wait(30) == 0


def _peek(process) -> str:
    """The worker prints one line to stderr when it starts; read it once it is there."""
    import select

    ready, _, _ = select.select([process.stderr], [], [], 0)
    return process.stderr.readline() if ready else ""
