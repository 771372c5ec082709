"""`admin-app check --deploy`: every unsafe production setting, one line each, exit 1."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from admin_app.cli import main
from tests.cli.test_cli import admin_app
from tests.helpers import fetch

STRONG_KEY = "Vq3pZ8rT1xK0mB7nW4yL2cF9hJ6sD5gA-uE_oI1tR8eW3qY7zX0vN2bM4kP6lQ9"


def hardened(database_url: str, data_dir: str) -> dict[str, str]:
    """A production configuration with nothing to report."""
    return {
        "ENVIRONMENT": "production",
        "DATABASE_URL": database_url,
        "DATA_DIR": data_dir,
        "SECRET_KEY": STRONG_KEY,
        "SECRET_KEY_FALLBACKS": STRONG_KEY[::-1],  # a key being rotated out: nothing to report
        "DEBUG": "false",
        "ALLOWED_HOSTS": "admin.example.com",
        "HTTPS_ONLY": "true",
        "FORWARDED_ALLOW_IPS": "10.0.0.0/8",
        "EMAIL_BACKEND": "smtp",
        "SMTP_HOST": "smtp.example.com",
        "SMTP_USER": "mailer",
        "SMTP_TLS": "starttls",
        "REQUIRE_2FA": "true",
        "PUBLIC_URL": "https://admin.example.com",
    }


def settings_named(stdout: str) -> list[str]:
    return [line.split(":", 1)[0] for line in stdout.splitlines()]


def test_the_defaults_are_reported_one_line_each(tmp_path):
    result = admin_app("check", "--deploy", env={"DATA_DIR": str(tmp_path)})
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert settings_named(result.stdout) == [
        "ENVIRONMENT",
        "SECRET_KEY",
        "HTTPS_ONLY",
        "EMAIL_BACKEND",
        "PUBLIC_URL",
        "DATABASE_URL",
        "REQUIRE_2FA",
        "DATABASE_URL",
    ], result.stdout
    assert "SQLite" in result.stdout
    assert "does not exist; run: admin-app db upgrade" in result.stdout
    assert result.stderr.strip() == "error: 8 unsafe or broken setting(s) for production"
    assert not list(tmp_path.iterdir()), "checking must not create a database or a key"


def test_every_item_of_the_issue_is_reported_at_once(tmp_path, databases):
    url = databases.empty("sqlite", tmp_path)
    (tmp_path / "empty.db").touch()  # an empty file is an SQLite database with no tables
    env = {"DATA_DIR": str(tmp_path), "DATABASE_URL": url, "DEBUG": "true", "ALLOWED_HOSTS": "*"}
    result = admin_app("check", "--deploy", env=env)
    assert result.returncode == 1
    reported = settings_named(result.stdout)
    for setting in (
        "DEBUG",
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "HTTPS_ONLY",
        "EMAIL_BACKEND",
        "DATABASE_URL",
        "migrations",
        "REQUIRE_2FA",
    ):
        assert setting in reported, f"{setting} missing from:\n{result.stdout}"
    assert "has no schema yet" in result.stdout


def test_a_hardened_configuration_passes(postgres_backend, databases, tmp_path):
    env = hardened(databases.new(postgres_backend, tmp_path), str(tmp_path))
    result = admin_app("check", "--deploy", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "check: no issues found for production"
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("change", "setting", "fragment"),
    [
        ({"DEBUG": "true"}, "DEBUG", "tracebacks"),
        ({"SECRET_KEY": "short-random-k3y-8f2c91"}, "SECRET_KEY", "23 characters"),
        ({"SECRET_KEY": "please-change-me-" + "x1y2z3" * 10}, "SECRET_KEY", "placeholder"),
        ({"SECRET_KEY": "ab" * 40}, "SECRET_KEY", "different characters"),
        (
            {"SECRET_KEY_FALLBACKS": f"{STRONG_KEY[::-1]},changeme"},
            "SECRET_KEY_FALLBACKS",
            "key 2 of 2 is a placeholder",
        ),
        ({"ALLOWED_HOSTS": "admin.example.com,*"}, "ALLOWED_HOSTS", "'*'"),
        ({"HTTPS_ONLY": "false"}, "HTTPS_ONLY", "Secure"),
        ({"EMAIL_BACKEND": "console"}, "EMAIL_BACKEND", "never sent"),
        ({"SMTP_TLS": "none"}, "SMTP_TLS", "in clear"),
        ({"REQUIRE_2FA": "false"}, "REQUIRE_2FA", "stolen password"),
        ({"FORWARDED_ALLOW_IPS": "*"}, "FORWARDED_ALLOW_IPS", "X-Forwarded-For"),
        ({"ENVIRONMENT": "test"}, "ENVIRONMENT", "production"),
        ({"DATABASE_POOLER": "pgbouncer"}, "DATABASE_DIRECT_URL", "cannot LISTEN"),
    ],
)
def test_each_unsafe_setting_alone_is_reported(
    postgres_backend, databases, tmp_path, monkeypatch, change, setting, fragment
):
    monkeypatch.chdir(tmp_path)  # no stray .env
    env = hardened(databases.new(postgres_backend, tmp_path), str(tmp_path)) | change
    result = CliRunner().invoke(main, ["check", "--deploy"], env=env)
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1, f"only {setting} should be reported:\n{result.stdout}"
    assert lines[0].startswith(f"{setting}: ")
    assert fragment in lines[0]


def test_sqlite_is_reported_even_when_migrated(databases, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = hardened(databases.new("sqlite", tmp_path), str(tmp_path))
    result = CliRunner().invoke(main, ["check", "--deploy"], env=env)
    assert result.exit_code == 1
    assert settings_named(result.stdout) == ["DATABASE_URL"], result.stdout


def test_migrations_behind_are_reported(postgres_backend, databases, tmp_path, monkeypatch, sql):
    monkeypatch.chdir(tmp_path)
    url = databases.new(postgres_backend, tmp_path)
    env = hardened(url, str(tmp_path))
    runner = CliRunner()
    assert runner.invoke(main, ["db", "downgrade", "0001"], env=env).exit_code == 0
    result = runner.invoke(main, ["check", "--deploy"], env=env)
    assert result.exit_code == 1
    assert result.stdout.startswith("migrations: the database is at 0001, not at the newest")
    assert "admin-app db upgrade" in result.stdout


def test_an_unreachable_database_is_one_line_and_the_rest_still_checked(tmp_path):
    env = {
        "DATA_DIR": str(tmp_path),
        "DATABASE_URL": "postgresql://admin:hunter2@127.0.0.1:1/shop",
        "DB_CONNECT_TIMEOUT": "2",
        "DEBUG": "true",
    }
    result = admin_app("check", "--deploy", env=env)
    assert result.returncode == 1
    assert "DEBUG: is on" in result.stdout
    unreachable = [line for line in result.stdout.splitlines() if "cannot connect" in line]
    assert len(unreachable) == 1
    assert "postgresql+asyncpg://admin:***@127.0.0.1:1/shop" in unreachable[0]
    assert "hunter2" not in result.stdout + result.stderr


def test_without_deploy_only_the_database_is_checked(settings, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = {"DATABASE_URL": settings.database_url, "DATA_DIR": str(tmp_path), "DEBUG": "true"}
    result = CliRunner().invoke(main, ["check"], env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "check: no issues found"
    assert fetch(settings, "SELECT count(*) FROM alembic_version")[0][0] == 1
