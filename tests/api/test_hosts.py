"""ADMIN_HOST and API_HOST: each part of the app answers on its own host name only;
probes, metrics and static files on every allowed host."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from admin_app.checks import settings_issues
from admin_app.main import create_app
from admin_app.settings import ConfigError, Settings, load_settings
from tests.api.helpers import bearer, make_token
from tests.helpers import create_admin, login

HOSTS = {"admin_host": "admin.test", "api_host": "api.test"}


def test_the_admin_and_the_api_answer_on_their_own_hosts(settings: Settings) -> None:
    token = bearer(make_token(settings, create_admin(settings)))
    split = settings.model_copy(
        update={**HOSTS, "allowed_hosts": ["admin.test", "api.test", "other.test"]}
    )
    app = create_app(split)
    with (
        TestClient(app, base_url="http://admin.test") as admin,
        TestClient(app, base_url="http://api.test") as api,
        TestClient(app, base_url="http://other.test") as other,
    ):
        assert login(admin, "root@example.com").status_code == 303
        assert admin.get("/admin/account").status_code == 200
        assert api.get("/api/v1/tag", headers=token).status_code == 200
        assert api.get("/admin/login").status_code == 404, "the admin answers on the API host"
        assert admin.get("/api/v1/tag", headers=token).status_code == 404, (
            "the API on the admin host"
        )
        assert other.get("/admin/login").status_code == 404
        assert other.get("/api/openapi.json").status_code == 404
        for client in (admin, api, other):
            assert client.get("/healthz").status_code == 200
            assert client.get("/static/api-docs.js").status_code == 200
        made = api.post("/api/v1/tag", json={"name": "hosted"}, headers=token)
        assert made.headers["location"] == f"http://api.test/api/v1/tag/{made.json()['id']}"


def test_a_host_outside_allowed_hosts_is_refused_at_start() -> None:
    with pytest.raises(ConfigError, match=r"API_HOST: 'api\.test' is not in ALLOWED_HOSTS"):
        load_settings(
            api_host="api.test", allowed_hosts="admin.test", environment="test", secret_key="k" * 50
        )


def test_check_deploy_asks_for_own_hosts_when_other_sites_may_call_the_api() -> None:
    base = {"environment": "test", "secret_key": "k" * 50, "allowed_hosts": "a.test,b.test"}
    shared = load_settings(api_cors_origins="https://app.example.com", **base)
    assert "API_HOST" in {issue.setting for issue in settings_issues(shared)}
    split = load_settings(
        api_cors_origins="https://app.example.com", admin_host="a.test", api_host="b.test", **base
    )
    assert "API_HOST" not in {issue.setting for issue in settings_issues(split)}
