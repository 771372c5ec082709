"""Fixtures for the webhook tests: a real receiver, and an app whose worker retries fast."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from admin_app.main import create_app
from admin_app.settings import Settings
from tests.helpers import create_admin, fetch, login, post_form
from tests.webhooks.receiver import Receiver

FAST = {
    "webhook_poll_interval": 0.05,
    "webhook_backoff": 0.05,
    "webhook_backoff_max": 0.2,
    # Generous: on a loaded machine a 1 s limit turned a slow answer into one more try.
    "webhook_timeout": 5.0,
    "webhook_lease": 10.0,
    "email_poll_interval": 0.2,
}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """An HTTP server on 127.0.0.1 recording every POST (tests/webhooks/receiver.py)."""
    server = Receiver()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def hook_settings(settings: Settings) -> Settings:
    return settings.model_copy(update=FAST)


@pytest.fixture
def hooks(hook_settings: Settings) -> Iterator[TestClient]:
    """A superuser's client of an app that delivers webhooks in-process, retrying fast."""
    create_admin(hook_settings, "root@example.com", superuser=True, full_name="Ada Admin")
    with TestClient(create_app(hook_settings)) as client:
        assert login(client, "root@example.com").status_code == 303
        yield client


def new_endpoint(
    client: TestClient,
    url: str,
    models: list[str] | None = None,
    events: list[str] | None = None,
    **extra: Any,
) -> tuple[int, str]:
    """Create an endpoint through the admin's form; return its id and its secret."""
    form = {
        "description": extra.pop("description", "test receiver"),
        "url": url,
        "models": models or ["category"],
        "events": events or ["create", "update", "delete"],
        "enabled": "on",
        **extra,
    }
    answer = post_form(client, "/admin/webhook-endpoint/create", form, follow_redirects=False)
    assert answer.status_code == 303, answer.text[:2000]
    settings = client.app_state["settings"]
    pk = int(fetch(settings, "SELECT max(id) FROM webhook_endpoint")[0][0])
    return pk, secret_of(client, pk)


def secret_of(client: TestClient, pk: int) -> str:
    """The secret, as a superuser reads it off the endpoint's page."""
    page = client.get(f"/admin/webhook-endpoint/detail?pk={pk}").text
    found = re.search(r"<code[^>]*>(whsec_[A-Za-z0-9_-]+)</code>", page)
    assert found, "the endpoint's page shows its secret to a superuser"
    return found.group(1)
