"""Browsers of listed origins may call the API (and only the API); each token's calls
are limited across processes."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from admin_app.main import create_app
from admin_app.settings import ConfigError, Settings, load_settings
from tests.api.helpers import bearer, make_token
from tests.helpers import create_admin

ORIGIN = "https://app.example.com"


def test_listed_origins_may_call_the_api_and_nothing_else(settings: Settings) -> None:
    token = bearer(make_token(settings, create_admin(settings)))
    listed = settings.model_copy(update={"api_cors_origins": [ORIGIN]})
    with TestClient(create_app(listed)) as client:
        preflight = client.options(
            "/api/v1/product",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "PATCH",
                "Access-Control-Request-Headers": "authorization, if-match, content-type",
            },
        )
        assert preflight.status_code == 200, preflight.text
        assert preflight.headers["access-control-allow-origin"] == ORIGIN
        assert "access-control-allow-credentials" not in preflight.headers
        call = client.get("/api/v1/product", headers={**token, "Origin": ORIGIN})
        assert call.headers["access-control-allow-origin"] == ORIGIN
        assert "ETag" in call.headers["access-control-expose-headers"]
        other = client.get("/api/v1/product", headers={**token, "Origin": "https://evil.test"})
        assert "access-control-allow-origin" not in other.headers
        admin = client.get("/admin/login", headers={"Origin": ORIGIN})
        assert "access-control-allow-origin" not in admin.headers, "CORS is for /api only"


@pytest.mark.parametrize("value", ["*", "https://app.example.com,*", "app.example.com"])
def test_a_wildcard_or_a_non_origin_is_refused_at_start(value: str) -> None:
    with pytest.raises(ConfigError, match="API_CORS_ORIGINS"):
        load_settings(api_cors_origins=value, environment="test", secret_key="k" * 40)


def test_a_tokens_limit_holds_across_processes(settings: Settings) -> None:
    limited = settings.model_copy(update={"api_rate_limit": 3, "api_rate_window": 60})
    token = bearer(make_token(settings, create_admin(settings)))
    other = bearer(make_token(settings, create_admin(settings, "b@example.com")))
    with TestClient(create_app(limited)) as one, TestClient(create_app(limited)) as two:
        answers = [c.get("/api/v1/tag", headers=token) for c in (one, two, one, two)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429], (
            "two processes share one count per token"
        )
        wait = int(answers[-1].headers["retry-after"])
        assert 50 <= wait <= 60, f"the window began with the first call, {wait} s is not its end"
        assert "try again" in answers[-1].json()["error"]
        assert two.get("/api/v1/tag", headers=other).status_code == 200, "limits are per token"
