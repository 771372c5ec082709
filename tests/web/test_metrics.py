"""`/metrics`: never open, and after some traffic it says what happened, by route template."""

from __future__ import annotations

import time

import pytest
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from admin_app.main import create_app
from tests.conftest import make_settings
from tests.helpers import login, metric, metric_labels, wait_until

TOKEN = "metrics-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def metrics_client(settings):
    with TestClient(create_app(variant(settings, metrics_token=TOKEN))) as c:
        yield c


def variant(settings, **overrides):
    """The test's settings with some values changed (validated, unlike model_copy)."""
    return make_settings(
        database_url=settings.database_url, data_dir=settings.data_dir, **overrides
    )


def scrape(client: TestClient) -> str:
    response = client.get("/metrics", headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["cache-control"] == "no-store"
    return response.text


def test_without_configuration_metrics_do_not_exist(client):
    response = client.get("/metrics", headers=AUTH)
    assert response.status_code == 404
    assert "admin_app" not in response.text


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": f"Basic {TOKEN}"}],
)
def test_a_missing_or_wrong_token_gets_401(metrics_client, headers):
    response = metrics_client.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "admin_app_http" not in response.text


def test_the_allow_list_admits_listed_networks_only(settings):
    allowed = variant(settings, metrics_allow_ips=["10.0.0.0/8", "192.0.2.7"])
    for address, status in [("10.20.30.40", 200), ("192.0.2.7", 200), ("192.0.2.8", 403)]:
        with TestClient(create_app(allowed), client=(address, 5000)) as client:
            assert client.get("/metrics").status_code == status, address


def test_with_both_settings_both_are_required(settings):
    both = variant(settings, metrics_allow_ips=["10.0.0.0/8"], metrics_token=TOKEN)
    with TestClient(create_app(both), client=("10.1.1.1", 5000)) as inside:
        assert inside.get("/metrics").status_code == 401
        assert inside.get("/metrics", headers=AUTH).status_code == 200
    with TestClient(create_app(both), client=("203.0.113.9", 5000)) as outside:
        assert outside.get("/metrics", headers=AUTH).status_code == 403


def test_a_proxy_cannot_be_used_to_fake_an_allowed_address(settings):
    """X-Forwarded-For only counts from a trusted proxy (FORWARDED_ALLOW_IPS)."""
    allowed = variant(settings, metrics_allow_ips=["10.0.0.0/8"])
    with TestClient(create_app(allowed), client=("203.0.113.9", 5000)) as client:
        response = client.get("/metrics", headers={"X-Forwarded-For": "10.0.0.1"})
    assert response.status_code == 403


def test_scrapers_reach_it_by_pod_ip_whatever_allowed_hosts_says(metrics_client):
    response = metrics_client.get("/metrics", headers={**AUTH, "host": "10.4.0.17:8000"})
    assert response.status_code == 200


def test_requests_are_counted_by_route_template_method_and_status(admin_client, settings):
    app = create_app(variant(settings, metrics_token=TOKEN))
    with TestClient(app) as client:
        client.cookies.update(admin_client.cookies)
        for _ in range(3):
            assert client.get("/admin/product/list").status_code == 200
        client.get("/admin/customer/list")
        client.get("/nothing/here/42")
        client.request("BREW", "/admin/login")
        text = scrape(client)
    name = "admin_app_http_requests_total"
    list_labels = {"method": "GET", "route": "/admin/{key}/list", "status": "200"}
    assert metric(text, name, **list_labels) == 4.0, "four list pages, one template"
    assert metric(text, "admin_app_http_request_duration_seconds_count", **list_labels) == 4.0
    assert metric(text, name, method="GET", route="unmatched", status="404") == 1.0
    assert metric_labels(text, name, "method") <= {"GET", "HEAD", "POST", "other"}
    routes = metric_labels(text, name, "route")
    assert not any("product" in r or "42" in r for r in routes), routes


def test_the_scrape_itself_is_in_flight(metrics_client):
    assert metric(scrape(metrics_client), "admin_app_http_requests_in_progress") == 1.0


def test_login_failures_and_lockouts_are_counted(settings, superuser):
    limited = variant(settings, metrics_token=TOKEN, login_max_failures=2)
    with TestClient(create_app(limited)) as client:
        for _ in range(3):
            assert login(client, superuser, "wrong password here").status_code == 400
        text = scrape(client)
    assert metric(text, "admin_app_login_failures_total") == 2.0
    assert metric(text, "admin_app_login_lockouts_total") == 1.0, "the third try was refused"
    assert metric(text, "admin_app_password_verifications_total", where="login") == 2.0, (
        "a locked-out try costs no hash verification"
    )


def test_a_blocking_call_shows_as_event_loop_lag(settings):
    """The lag monitor runs for the app's lifetime; a 300 ms blocking call is seen."""
    app = create_app(variant(settings, metrics_token=TOKEN))

    async def block(request):
        time.sleep(0.3)  # noqa: ASYNC251 - the point: block the event loop
        return PlainTextResponse("blocked")

    def late_ticks(text: str) -> float:
        """Timer ticks that fired more than 250 ms late."""
        name = "admin_app_event_loop_lag_seconds"
        return metric(text, f"{name}_count") - metric(text, f"{name}_bucket", le="0.25")

    app.router.routes.append(Route("/block", block))
    with TestClient(app) as client:
        before = late_ticks(scrape(client))
        assert client.get("/block").text == "blocked"

        def lag_seen() -> str | None:
            text = scrape(client)
            return text if late_ticks(text) > before else None

        text = wait_until(lag_seen, 5, "the lag monitor to see the blocked loop")
    assert metric(text, "admin_app_event_loop_lag_max_seconds") >= 0.25


def test_active_sessions_are_read_from_the_database(metrics_client, superuser):
    assert metric(scrape(metrics_client), "admin_app_admin_sessions_active") == 0.0
    assert login(metrics_client, superuser).status_code == 303
    assert metric(scrape(metrics_client), "admin_app_admin_sessions_active") == 1.0


def test_metrics_answer_while_the_database_is_down(tmp_path):
    settings = make_settings(
        database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none",
        db_connect_timeout=1,
        metrics_token=TOKEN,
        data_dir=tmp_path,
    )
    with TestClient(create_app(settings)) as client:
        text = scrape(client)
    errors = metric(
        text, "admin_app_metrics_source_errors_total", source="admin_app_admin_sessions_active"
    )
    assert errors == 1.0, "a failed source is counted, and the scrape still answers"
