"""The commands behind a transaction-pooling PgBouncer: migrations go to
`DATABASE_DIRECT_URL`, `check --deploy` passes a deployment set up as docs/deploy.md says."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from tests.cli.test_check import hardened
from tests.cli.test_cli import admin_app
from tests.conftest import TEST_DATABASE_URL
from tests.pgbouncer.bouncer import PgBouncer

UNREACHABLE = "postgresql://postgres@127.0.0.1:1/nowhere"
"""A DATABASE_URL nobody answers: what only the direct URL can work around."""


def test_migrations_run_on_the_direct_url_not_through_the_pooler(
    postgres_backend, databases, tmp_path: Path
):
    env = {
        "DATA_DIR": str(tmp_path),
        "DATABASE_URL": UNREACHABLE,
        "DATABASE_POOLER": "pgbouncer",
        "DATABASE_DIRECT_URL": databases.empty(postgres_backend, tmp_path),
        "DB_CONNECT_TIMEOUT": "2",
    }
    upgraded = admin_app("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    current = admin_app("db", "current", env=env)
    assert current.returncode == 0, current.stderr
    assert "(head)" in current.stdout, current.stdout


def test_check_deploy_passes_through_pgbouncer_with_a_direct_url(
    postgres_backend, databases, tmp_path: Path
):
    direct = databases.new(postgres_backend, tmp_path)
    with PgBouncer(TEST_DATABASE_URL, tmp_path / "pgbouncer", pool_size=1) as bouncer:
        env = hardened(bouncer.url(str(make_url(direct).database)), str(tmp_path))
        env["DATABASE_POOLER"] = "pgbouncer"
        without = admin_app("check", "--deploy", env=env)
        env["DATABASE_DIRECT_URL"] = direct
        passed = admin_app("check", "--deploy", env=env)
    assert without.returncode == 1
    assert without.stdout.startswith("DATABASE_DIRECT_URL: is not set while DATABASE_POOLER")
    assert len(without.stdout.splitlines()) == 1, without.stdout
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert passed.stdout.strip() == "check: no issues found for production"
