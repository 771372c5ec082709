"""Fixtures for single sign-on: a real provider, and an app on a fresh database that trusts it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from admin_app.main import create_app
from admin_app.settings import Settings
from tests.helpers import make_role
from tests.sso.provider import APP_CLIENT, TEST_CALLBACK, Browser, Provider, start_provider

ROLE_MAP = {"admins": "Superuser", "support": "Support", "sales": "Sales"}


@pytest.fixture(scope="session")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    """One provider per test process; each test sets its accounts."""
    running = start_provider(tmp_path_factory.mktemp("oidc-provider"), [TEST_CALLBACK])
    yield running
    running.stop()


def sso_settings(settings: Settings, provider: Provider, **overrides: Any) -> Settings:
    """`settings` with single sign-on through `provider` as the admin-app client."""
    values: dict[str, Any] = {
        "oidc_issuer": provider.issuer,
        "oidc_client_id": APP_CLIENT["client_id"],
        "oidc_client_secret": SecretStr(APP_CLIENT["client_secret"]),
        "oidc_scopes": "openid email profile groups",
        "oidc_role_map": ROLE_MAP,
        "oidc_provider_name": "Test ID",
    }
    values.update(overrides)
    return settings.model_copy(update=values)


@pytest.fixture
def roles(settings: Settings) -> dict[str, int]:
    """The mapped roles (Support and Sales, which may view customers), and one the map
    does not name (Auditor), by id."""
    return {
        name: make_role(settings, name, ["customer:view"])
        for name in ("Support", "Sales", "Auditor")
    }


@pytest.fixture
def sso_app(
    settings: Settings, provider: Provider, roles: dict[str, int]
) -> Callable[..., TestClient]:
    """Open (and close at the end) an app that signs in through `provider`."""
    opened: list[TestClient] = []

    def open_app(**overrides: Any) -> TestClient:
        client = TestClient(create_app(sso_settings(settings, provider, **overrides)))
        client.__enter__()
        opened.append(client)
        return client

    yield open_app  # type: ignore[misc]
    for client in opened:
        client.__exit__(None, None, None)


def sign_in(app: TestClient, browser: Browser, login: str, next_url: str = "") -> Any:
    """Click "Sign in with Test ID", get through the provider, and come back: the app's
    answer to the callback (not followed)."""
    path = "/admin/sso/login" + (f"?next={next_url}" if next_url else "")
    start = app.get(path, follow_redirects=False)
    assert start.status_code == 303, start.text
    back = browser.authorize(start.headers["location"], login)
    return app.get(back, follow_redirects=False)


def start_and_authorize(app: TestClient, browser: Browser, login: str) -> str:
    """Up to the provider's redirect back to the app: the callback URL, not yet opened."""
    start = app.get("/admin/sso/login", follow_redirects=False)
    return browser.authorize(start.headers["location"], login)
