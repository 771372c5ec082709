"""The commands behind a transaction-pooling PgBouncer: migrations go to
`DATABASE_DIRECT_URL`, `check --deploy` passes a deployment set up as docs/deploy.md says."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from tests.cli.test_check import hardened
from tests.cli.test_cli import admin_app
from tests.conftest import TEST_DATABASE_URL, make_settings
from tests.helpers import fetch
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


def test_seed_and_import_load_through_pgbouncer(postgres_backend, databases, tmp_path: Path):
    """Both load with COPY (asyncpg prepares for it), the import through a temporary table.
    An import writes its progress beside the transaction writing its rows: two server
    connections (with one, it waits for itself until asyncpg's command timeout)."""
    direct = databases.new(postgres_backend, tmp_path)
    rows = "".join(f"Ann,Import{n},ann{n}@import.example,FR\n" for n in range(5))
    (tmp_path / "customers.csv").write_text("first_name,last_name,email,country\n" + rows)
    with PgBouncer(TEST_DATABASE_URL, tmp_path / "pgbouncer", pool_size=2) as bouncer:
        env = {
            "DATA_DIR": str(tmp_path),
            "ENVIRONMENT": "test",
            "SECRET_KEY": "pgbouncer-test-" + "k" * 40,
            "DATABASE_URL": bouncer.url(str(make_url(direct).database)),
            "DATABASE_POOLER": "pgbouncer",
            "DATABASE_DIRECT_URL": direct,
        }
        seeded = admin_app("seed", "--customers", "30", "--orders", "60", env=env)
        imported = admin_app("import", "customer", "customers.csv", env=env)
    assert seeded.returncode == 0, seeded.stderr
    assert imported.returncode == 0, imported.stdout + imported.stderr
    settings = make_settings(database_url=direct)
    assert fetch(settings, "SELECT count(*) FROM customer")[0][0] == 35
    assert fetch(settings, "SELECT count(*) FROM orders")[0][0] == 60
