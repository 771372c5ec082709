"""Single sign-on settings: a wrong one stops start-up and `admin-app check` with one line."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from admin_app.checks import settings_issues
from admin_app.cli import main
from tests.conftest import make_settings
from tests.servers import free_port
from tests.sso.provider import APP_CLIENT, Provider


@pytest.mark.parametrize(
    ("env", "variable", "fragment"),
    [
        ({"OIDC_ISSUER": "http://login.example.com"}, "OIDC_ISSUER", "https://"),
        ({"OIDC_ISSUER": "https://login.example.com"}, "OIDC_CLIENT_ID", "must be set"),
        ({"OIDC_ROLE_MAP": "admins=Superuser,support"}, "OIDC_ROLE_MAP", "'support'"),
        ({"OIDC_ROLE_MAP": "=Support"}, "OIDC_ROLE_MAP", "claim-value=Role"),
        ({"SSO_ONLY": "true"}, "SSO_ONLY", "OIDC_ISSUER"),
        ({"OIDC_CLOCK_SKEW": "3600"}, "OIDC_CLOCK_SKEW", "600"),
        (
            {
                "OIDC_ISSUER": "https://id.example.com",
                "OIDC_CLIENT_ID": "a",
                "SSO_BREAK_GLASS_EMAIL": "root",
            },
            "SSO_BREAK_GLASS_EMAIL",
            "not an email",
        ),
    ],
)
def test_a_wrong_setting_is_one_line_naming_it(tmp_path, monkeypatch, env, variable, fragment):
    monkeypatch.chdir(tmp_path)  # no stray .env
    result = CliRunner().invoke(main, ["check"], env={"DATA_DIR": str(tmp_path), **env})
    assert result.exit_code == 1
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: invalid setting {variable}: "), line
    assert fragment in line


def sso_env(settings, issuer: str) -> dict[str, str]:
    return {
        "DATABASE_URL": settings.database_url,
        "DATA_DIR": str(settings.data_dir),
        "OIDC_ISSUER": issuer,
        "OIDC_CLIENT_ID": APP_CLIENT["client_id"],
        "OIDC_ROLE_MAP": "admins=Superuser,support=Support,sales=Sales",
    }


def test_check_reports_a_provider_that_does_not_answer(settings, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = sso_env(settings, f"http://127.0.0.1:{free_port()}")
    result = CliRunner().invoke(main, ["check"], env=env)
    assert result.exit_code == 1
    (line,) = result.stdout.splitlines()
    assert line.startswith("OIDC_ISSUER: ") and "could not be reached" in line, line


def test_check_reports_mapped_roles_that_do_not_exist(
    settings, provider: Provider, roles, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    env = sso_env(settings, provider.issuer) | {"OIDC_ROLE_MAP": "admins=Superuser,ops=Operations"}
    result = CliRunner().invoke(main, ["check"], env=env)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "OIDC_ROLE_MAP: names roles that do not exist: Operations; create them "
        "(Administration → Roles) or correct the map"
    ]
    fine = CliRunner().invoke(main, ["check"], env=sso_env(settings, provider.issuer))
    assert fine.exit_code == 0, fine.output


def test_deploy_check_wants_a_break_glass_account_under_sso_only():
    base = {"oidc_issuer": "https://id.example.com", "oidc_client_id": "admin", "sso_only": True}
    names = [issue.setting for issue in settings_issues(make_settings(**base))]
    assert "SSO_BREAK_GLASS_EMAIL" in names, "nobody could sign in while the provider is down"
    named = make_settings(**base, sso_break_glass_email="root@example.com")
    assert "SSO_BREAK_GLASS_EMAIL" not in [issue.setting for issue in settings_issues(named)]
