"""Liveness never needs the database; readiness needs it reachable and migrated."""

from __future__ import annotations

from starlette.testclient import TestClient

from admin_app.main import create_app
from tests.conftest import make_settings


def test_healthz_and_readyz_answer_200_on_a_migrated_database(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    response = client.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert body["migrations"]["current"] == body["migrations"]["head"]


def test_readyz_is_503_until_migrations_run(databases, backend, tmp_path):
    settings = make_settings(database_url=databases.empty(backend, tmp_path))
    with TestClient(create_app(settings)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"] == "not migrated"
    assert "admin-app db upgrade" in response.json()["hint"]


def test_healthz_stays_up_when_the_database_is_unreachable(tmp_path):
    settings = make_settings(
        database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none", db_connect_timeout=1
    )
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unreachable"}


def test_unknown_page_is_404_html_for_browsers_and_json_for_api_clients(client):
    page = client.get("/no-such-page", headers={"accept": "text/html"})
    assert page.status_code == 404
    assert "text/html" in page.headers["content-type"]
    assert "Page not found" in page.text
    api = client.get("/no-such-page", headers={"accept": "application/json"})
    assert api.status_code == 404
    assert api.json()["error"] == "Page not found"


def test_bad_host_header_is_refused_with_400(client):
    response = client.get("/static/app.css", headers={"host": "evil.example"})
    assert response.status_code == 400


def test_probes_answer_whatever_the_host_so_load_balancers_can_reach_them(client):
    for path in ("/healthz", "/readyz"):
        response = client.get(path, headers={"host": "10.0.3.17:8000"})
        assert response.status_code == 200, f"{path} must not depend on the Host header"


def test_readyz_stays_ready_when_a_newer_version_has_migrated(client, sql):
    """Rolling deploy: the new version migrates first; old replicas keep their traffic."""
    sql("UPDATE alembic_version SET version_num = 'f00dfacade99'")
    response = client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["migrations"]["state"] == "ahead"


def test_readyz_is_503_when_the_schema_is_behind_this_code(client, sql):
    sql("UPDATE alembic_version SET version_num = '0001'")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["migrations"]["state"] == "behind"
    assert "admin-app db upgrade" in response.json()["hint"]
