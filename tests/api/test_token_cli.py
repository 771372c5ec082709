"""`admin-app api-token`: prints a working token, or one line saying why not."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from admin_app.settings import Settings
from tests.api.helpers import bearer
from tests.cli.test_cli import admin_app, assert_one_line_error
from tests.helpers import create_admin, fetch


def _env(settings: Settings, tmp_path: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": settings.database_url,
        "DATA_DIR": str(tmp_path),
        "ENVIRONMENT": "test",
        "SECRET_KEY": "cli-test-" + "k" * 40,
    }


def test_the_printed_token_works_and_is_audited(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    create_admin(settings, "ops@example.com")
    made = admin_app(
        "api-token",
        "--email",
        "ops@example.com",
        "--name",
        "sync",
        "--permission",
        "tag:view",
        env=_env(settings, tmp_path),
    )
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert client.get("/api/v1/tag", headers=bearer(token)).status_code == 200
    assert client.get("/api/v1/product", headers=bearer(token)).status_code == 403
    actions = fetch(settings, "SELECT action, actor FROM audit_entry WHERE action LIKE 'api%'")
    assert [a for a, _ in actions] == ["api_token_created"], actions


def test_an_unknown_account_or_a_bad_lifetime_is_one_line(
    settings: Settings, tmp_path: Path
) -> None:
    create_admin(settings, "ops@example.com")
    env = _env(settings, tmp_path)
    nobody = admin_app("api-token", "--email", "x@example.com", "--name", "n", env=env)
    assert_one_line_error(nobody, "no active account")
    forever = admin_app(
        "api-token", "--email", "ops@example.com", "--name", "n", "--days", "9999", env=env
    )
    assert_one_line_error(forever, "366 days")
