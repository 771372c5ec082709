"""The `admin-app` console script, run as a user runs it: as a separate process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from admin_app.migrations import ALEMBIC_INI
from admin_app.schema_version import head_revisions
from tests.helpers import copy_project
from tests.test_migrations import table_names

ADMIN_APP = str(Path(sys.executable).parent / "admin-app")


def admin_app(*args: str, env: dict[str, str], stdin: str | None = None):
    full_env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **env}
    if "PYTHONPATH" in os.environ:  # a checkout sharing another one's virtualenv runs itself
        full_env.setdefault("PYTHONPATH", os.environ["PYTHONPATH"])
    return subprocess.run(
        [ADMIN_APP, *args],
        env=full_env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=env.get("DATA_DIR", "/tmp"),
    )


@pytest.fixture
def env(database_url, tmp_path) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "DATA_DIR": str(tmp_path),
        "ENVIRONMENT": "test",
        "SECRET_KEY": "cli-test-" + "k" * 40,
    }


def assert_one_line_error(result, *fragments: str) -> None:
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got: {result.stderr!r}"
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_unreachable_database_is_one_line_without_password(tmp_path):
    result = admin_app(
        "db",
        "upgrade",
        env={
            "DATABASE_URL": "postgresql://admin:hunter2@127.0.0.1:1/shop",
            "DATA_DIR": str(tmp_path),
            "SECRET_KEY": "k" * 50,
        },
    )
    assert_one_line_error(
        result,
        "error: cannot connect to database at postgresql+asyncpg://admin:***@127.0.0.1:1/shop: ",
    )
    assert "hunter2" not in result.stderr + result.stdout


@pytest.mark.parametrize("command", [["db", "upgrade"], ["seed"], ["serve"], ["db", "check"]])
def test_bad_database_url_is_one_line_for_every_command(tmp_path, command):
    env = {"DATABASE_URL": "oracle://x/y", "DATA_DIR": str(tmp_path), "SECRET_KEY": "k" * 50}
    result = admin_app(*command, env=env)
    assert_one_line_error(result, "error: invalid setting DATABASE_URL: unsupported database")


def test_production_without_secret_key_refuses_to_start(tmp_path):
    result = admin_app("serve", env={"ENVIRONMENT": "production", "DATA_DIR": str(tmp_path)})
    assert_one_line_error(result, "error: invalid setting SECRET_KEY")


def test_upgrade_then_check_and_current(databases, backend, tmp_path):
    env = {
        "DATABASE_URL": databases.empty(backend, tmp_path),
        "DATA_DIR": str(tmp_path),
        "ENVIRONMENT": "test",
        "SECRET_KEY": "cli-test-" + "k" * 40,
    }
    assert admin_app("db", "check", env=env).returncode == 1, "an empty database is not at head"
    upgraded = admin_app("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    checked = admin_app("db", "check", env=env)
    assert checked.returncode == 0, checked.stderr
    assert "models and migrations agree" in checked.stdout
    current = admin_app("db", "current", env=env)
    assert current.returncode == 0
    assert f"{next(iter(head_revisions()))} (head)" in current.stdout
    history = admin_app("db", "history", env=env)
    assert "initial schema" in history.stdout.lower()


def test_seed_refuses_a_non_empty_database_without_force(env, sql):
    first = admin_app("seed", "--customers", "30", "--orders", "60", env=env)
    assert first.returncode == 0, first.stderr
    assert "30 customer" in first.stdout
    assert "60 orders" in first.stdout
    again = admin_app("seed", env=env)
    assert_one_line_error(again, "already has store data", "--force")
    assert sql("SELECT count(*) FROM customer")[0][0] == 30, "a refused seed must change nothing"
    skipped = admin_app("seed", "--if-empty", env=env)
    assert skipped.returncode == 0
    assert "nothing to do" in skipped.stdout
    forced = admin_app("seed", "--force", "--customers", "10", "--orders", "5", env=env)
    assert forced.returncode == 0, forced.stderr
    assert sql("SELECT count(*) FROM customer")[0][0] == 10
    assert sql("SELECT count(*) FROM orders")[0][0] == 5


def test_seed_refuses_an_unmigrated_database(databases, backend, tmp_path):
    env = {
        "DATABASE_URL": databases.empty(backend, tmp_path),
        "DATA_DIR": str(tmp_path),
        "SECRET_KEY": "k" * 50,
    }
    result = admin_app("seed", env=env)
    assert_one_line_error(result, "not up to date", "admin-app db upgrade")


def test_usage_errors_are_reported_by_click(env):
    result = admin_app("seed", "--customers", "-5", env=env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_downgrade_takes_a_relative_step_as_the_readme_shows(env):
    scripts = ScriptDirectory.from_config(Config(str(ALEMBIC_INI)))
    previous = scripts.get_revision(next(iter(head_revisions()))).down_revision
    result = admin_app("db", "downgrade", "-1", env=env)
    assert result.returncode == 0, result.stderr
    assert admin_app("db", "current", env=env).stdout.split() == [previous]
    again = admin_app("db", "upgrade", env=env)
    assert again.returncode == 0, again.stderr


BROKEN_MIGRATION = '''"""Creates a table, then fails."""

import sqlalchemy as sa
from alembic import op

revision = "broken"
down_revision = "{head}"


def upgrade() -> None:
    op.create_table("scratch", sa.Column("id", sa.Integer(), primary_key=True))
    op.execute("INSERT INTO no_such_table VALUES (1)")


def downgrade() -> None:
    pass
'''


def test_a_failing_migration_is_one_line_and_changes_nothing(env, settings, sql, tmp_path):
    tables = table_names(settings)
    project = copy_project(tmp_path / "project")
    head = next(iter(head_revisions()))
    broken = BROKEN_MIGRATION.format(head=head)
    (project / "alembic" / "versions" / "broken.py").write_text(broken)
    result = admin_app("db", "upgrade", env={**env, "PYTHONPATH": str(project)})
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert "upgrade failed, nothing was changed" in errors[0]
    assert "no_such_table" in errors[0]
    assert sql("SELECT version_num FROM alembic_version") == [(head,)]
    assert table_names(settings) == tables, "the table the migration created must be gone"
