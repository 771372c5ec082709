"""Settings: typed, validated in one place, one-line errors that name the variable."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from admin_app.settings import ConfigError, load_settings


def load(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **env: str):
    monkeypatch.chdir(tmp_path)  # no stray .env
    env.setdefault("DATA_DIR", str(tmp_path / "data"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_settings()


def test_defaults_are_the_embedded_sqlite_database_and_local_hosts(monkeypatch, tmp_path):
    settings = load(monkeypatch, tmp_path)
    assert settings.environment == "development"
    assert str(settings.db_url) == f"sqlite+aiosqlite:///{tmp_path / 'data' / 'admin_app.db'}"
    assert settings.debug is False
    assert settings.https_only is False
    assert settings.allowed_hosts == ["localhost", "127.0.0.1", "[::1]"]
    assert settings.max_import_size == 200 * 1024 * 1024, "imports take files up to 200 MB"


def test_development_key_is_generated_once_private_and_reused(monkeypatch, tmp_path, caplog):
    first = load(monkeypatch, tmp_path)
    key_file = tmp_path / "data" / "secret_key"
    assert key_file.exists(), "a development key should be kept in DATA_DIR/secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600, "the key file must be private"
    assert "generated a development key" in caplog.text
    second = load(monkeypatch, tmp_path)
    assert first.secret == second.secret, "the key must survive restarts"
    assert len(first.secret) >= 50


@pytest.mark.parametrize("value", ["", "changeme", "secret", "CHANGETHIS"])
def test_production_refuses_missing_or_placeholder_secret_key(monkeypatch, tmp_path, value):
    with pytest.raises(ConfigError) as error:
        load(monkeypatch, tmp_path, ENVIRONMENT="production", SECRET_KEY=value)
    message = str(error.value)
    assert "SECRET_KEY" in message
    assert "\n" not in message
    assert not (tmp_path / "data" / "secret_key").exists(), "no key may be invented in production"


def test_production_accepts_a_real_key(monkeypatch, tmp_path):
    settings = load(monkeypatch, tmp_path, ENVIRONMENT="production", SECRET_KEY="k" * 50)
    assert settings.secret == "k" * 50


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("DATABASE_URL", "mysql://localhost/db", "unsupported database 'mysql'"),
        ("DATABASE_URL", "not a url", "cannot parse"),
        ("DEBUG", "maybe", "valid boolean"),
        ("HTTPS_ONLY", "2", "valid boolean"),
        ("ENVIRONMENT", "prod", "'development', 'test' or 'production'"),
        ("ALLOWED_HOSTS", " , ", "at least one host"),
        ("DB_POOL_SIZE", "0", "greater than or equal to 1"),
        ("MAX_IMPORT_SIZE", "10", "greater than or equal to 1024"),
        ("MAX_IMPORT_SIZE", "lots", "valid integer"),
        ("DATABASE_POOLER", "odyssey", "'none' or 'pgbouncer'"),
        ("DATABASE_POOLER", "pgbouncer", "SQLite has no pooler"),
        ("DATABASE_DIRECT_URL", "sqlite:////tmp/x.db", "must be postgresql+asyncpg:// URLs"),
        ("DATABASE_DIRECT_URL", "postgresql://u@db/app", "must be postgresql+asyncpg:// URLs"),
    ],
)
def test_invalid_values_give_one_line_naming_the_variable(
    monkeypatch, tmp_path, name, value, expected
):
    with pytest.raises(ConfigError) as error:
        load(monkeypatch, tmp_path, **{name: value})
    message = str(error.value)
    assert message.startswith(f"invalid setting {name}: "), message
    assert expected in message
    assert "\n" not in message


def test_allowed_hosts_are_comma_separated(monkeypatch, tmp_path):
    settings = load(monkeypatch, tmp_path, ALLOWED_HOSTS="admin.example.com, .example.org")
    assert settings.allowed_hosts == ["admin.example.com", ".example.org"]


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("postgres://u:p@db/app", "postgresql+asyncpg"),
        ("postgresql://u:p@db/app", "postgresql+asyncpg"),
        ("sqlite:////tmp/x.db", "sqlite+aiosqlite"),
    ],
)
def test_plain_urls_get_the_async_driver(monkeypatch, tmp_path, given, driver):
    settings = load(monkeypatch, tmp_path, DATABASE_URL=given)
    assert settings.db_url.drivername == driver
    assert settings.db_url.password in (None, "p"), "the password must be kept"


def test_behind_a_pooler_migrations_and_listening_go_to_the_direct_url(monkeypatch, tmp_path):
    bouncer, direct = "postgresql://app@bouncer:6432/shop", "postgresql://app@db:5432/shop"
    env = {"DATABASE_URL": bouncer, "DATABASE_POOLER": "pgbouncer"}
    alone = load(monkeypatch, tmp_path, **env)
    assert alone.direct_db_url == alone.db_url, "without a direct URL, DATABASE_URL is used"
    assert alone.through_pooler(alone.direct_db_url)
    settings = load(monkeypatch, tmp_path, **env, DATABASE_DIRECT_URL=direct)
    assert settings.direct_db_url.render_as_string() == "postgresql+asyncpg://app@db:5432/shop"
    assert settings.through_pooler(settings.db_url)
    assert not settings.through_pooler(settings.direct_db_url)


def test_dotenv_file_is_read(monkeypatch, tmp_path):
    (tmp_path / ".env").write_text("DEBUG=true\nALLOWED_HOSTS=a.example\n")
    settings = load(monkeypatch, tmp_path)
    assert settings.debug is True
    assert settings.allowed_hosts == ["a.example"]
