"""Alembic is the only way the schema changes: the models must match the migrations."""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import inspect
from sqlalchemy.exc import DBAPIError

import admin_app.models  # noqa: F401
from admin_app.db import Base, create_engine
from admin_app.demo.seed import SeedPlan
from admin_app.migrations import ALEMBIC_INI, downgrade, include_object, upgrade
from admin_app.schema_version import head_revisions, known_revisions
from admin_app.settings import PROJECT_ROOT, Settings
from alembic import command
from tests.conftest import make_settings
from tests.demo.test_seed import run_seed
from tests.helpers import fetch


def schema_diff(settings: Settings, metadata: sa.MetaData) -> list[Any]:
    async def go() -> list[Any]:
        engine = create_engine(settings)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(
                    lambda sync: compare_metadata(
                        MigrationContext.configure(
                            sync,
                            opts={
                                "compare_type": True,
                                "include_object": include_object(sync.dialect.name),
                            },
                        ),
                        metadata,
                    )
                )
        finally:
            await engine.dispose()

    return asyncio.run(go())


def table_names(settings: Settings) -> set[str]:
    async def go() -> set[str]:
        engine = create_engine(settings)
        try:
            async with engine.connect() as connection:
                return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
        finally:
            await engine.dispose()

    return asyncio.run(go())


def test_models_and_migrations_do_not_drift(settings):
    diff = schema_diff(settings, Base.metadata)
    assert diff == [], f"models differ from migrations; write a migration for: {diff}"


def test_the_drift_check_notices_a_model_change(settings):
    changed = sa.MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["customer"].append_column(sa.Column("nickname", sa.String(40)))
    diff = schema_diff(settings, changed)
    assert any(op[0] == "add_column" and op[3].name == "nickname" for op in diff), diff


def test_upgrade_downgrade_upgrade_round_trip(databases, backend, tmp_path):
    settings = make_settings(database_url=databases.empty(backend, tmp_path))
    upgrade(settings)
    tables = table_names(settings)
    assert {"customer", "orders", "order_line", "product", "product_tag"} <= tables
    downgrade(settings, "base")
    assert table_names(settings) == {"alembic_version"}, "downgrade must remove every table"
    upgrade(settings)
    assert table_names(settings) == tables
    assert schema_diff(settings, Base.metadata) == []


def index_names(settings: Settings) -> set[str]:
    """Every index, expression indexes included (SQLAlchemy cannot reflect those on SQLite)."""
    query = (
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'"
        if settings.is_sqlite
        else "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'"
    )

    async def go() -> set[str]:
        engine = create_engine(settings)
        try:
            async with engine.connect() as connection:
                return {row[0] for row in await connection.execute(sa.text(query))}
        finally:
            await engine.dispose()

    return asyncio.run(go())


def test_each_downgrade_keeps_the_indexes_of_the_revision_below(databases, backend, tmp_path):
    from alembic.script import ScriptDirectory

    from admin_app.migrations import alembic_config

    settings = make_settings(database_url=databases.empty(backend, tmp_path))
    script = ScriptDirectory.from_config(alembic_config(settings))
    revisions = [r.revision for r in reversed(list(script.walk_revisions()))]
    seen: dict[str, set[str]] = {}
    for revision in revisions:
        upgrade(settings, revision)
        seen[revision] = index_names(settings)
    for below, above in reversed(list(itertools.pairwise(revisions))):
        downgrade(settings, below)
        assert index_names(settings) == seen[below], f"downgrading {above} -> {below} lost indexes"


def test_there_is_a_single_head():
    assert len(head_revisions()) == 1, "merge migration branches before release"


def test_the_web_process_reads_the_revisions_as_alembic_does():
    """`admin_app.schema_version` reads the scripts without Alembic; it must agree with
    Alembic's own reading, heads and every revision."""
    scripts = ScriptDirectory.from_config(Config(str(ALEMBIC_INI)))
    assert head_revisions() == frozenset(scripts.get_heads())
    assert known_revisions() == frozenset(r.revision for r in scripts.walk_revisions())


def test_the_web_process_runs_without_alembic():
    """Alembic (with Mako and Pygments) is a tenth of the web process's memory; only the
    `admin-app db` commands need it."""
    # structlog loads `rich` when it is installed, and rich loads Pygments: rich comes
    # only with the development tools (schemathesis), never in the image (`--no-dev`).
    probe = (
        "import sys; from admin_app.main import create_app; create_app(); "
        "dev = {'pygments'} if 'rich' in sys.modules else set(); "
        "print(sorted(m for m in ('alembic', 'mako', 'pygments') if m in set(sys.modules) - dev))"
    )
    env = {**os.environ, "SECRET_KEY": "x" * 40, "DATABASE_URL": "sqlite+aiosqlite:///:memory:"}
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == "[]", f"the web process imported {out.stdout.strip()}"


# --- How migrations run: batch rebuilds on SQLite, one transaction, foreign keys checked.

HEAD = next(iter(head_revisions()))

EXTRA_MIGRATION = '''"""A migration written by a test."""

import sqlalchemy as sa
from alembic import op

revision = "test_extra"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
{body}


def downgrade() -> None:
    pass
'''


def alembic_with_extra(tmp_path: Path, settings: Settings, body: str) -> Config:
    """The project's migration environment plus one more migration on top, running `body`."""
    root = tmp_path / "alembic"
    shutil.copytree(PROJECT_ROOT / "alembic", root, ignore=shutil.ignore_patterns("__pycache__"))
    indented = "\n".join(f"    {line}" for line in body.strip().splitlines())
    script = EXTRA_MIGRATION.format(head=HEAD, body=indented)
    (root / "versions" / "test_extra.py").write_text(script)
    config = Config()
    config.set_main_option("script_location", str(root))
    config.attributes["settings"] = settings
    return config


STORE_TABLES = ("product", "product_tag", "order_line")


def store_counts(settings: Settings) -> dict[str, int]:
    return {name: fetch(settings, f"SELECT count(*) FROM {name}")[0][0] for name in STORE_TABLES}


def seeded_sqlite(databases, tmp_path: Path) -> Settings:
    settings = make_settings(database_url=databases.new("sqlite", tmp_path))
    run_seed(settings, SeedPlan(customers=5, orders=20))
    return settings


def test_sqlite_rebuilds_a_referenced_table_without_losing_rows(databases, tmp_path):
    settings = seeded_sqlite(databases, tmp_path)
    before = store_counts(settings)
    assert before["product_tag"] and before["order_line"], "the demo store must reference products"
    rebuild = """
with op.batch_alter_table("product", recreate="always") as batch_op:
    batch_op.add_column(sa.Column("note", sa.String(20), nullable=True))
"""
    command.upgrade(alembic_with_extra(tmp_path, settings, rebuild), "head")
    assert fetch(settings, "SELECT version_num FROM alembic_version") == [("test_extra",)]
    assert store_counts(settings) == before, "rebuilding product must keep the rows that use it"
    assert fetch(settings, "PRAGMA foreign_key_check") == []


def test_a_failing_migration_changes_nothing(settings, tmp_path):
    failing = """
op.create_table("scratch", sa.Column("id", sa.Integer(), primary_key=True))
op.execute("INSERT INTO no_such_table VALUES (1)")
"""
    tables = table_names(settings)
    with pytest.raises(DBAPIError):
        command.upgrade(alembic_with_extra(tmp_path, settings, failing), "head")
    assert table_names(settings) == tables, "the half-done migration must be rolled back"
    assert fetch(settings, "SELECT version_num FROM alembic_version") == [(HEAD,)]


def test_sqlite_refuses_a_migration_that_leaves_dangling_references(databases, tmp_path):
    settings = seeded_sqlite(databases, tmp_path)
    before = store_counts(settings)
    dangling = 'op.execute("INSERT INTO product_tag (product_id, tag_id) VALUES (999999, 1)")'
    with pytest.raises(CommandError, match="referring to missing rows"):
        command.upgrade(alembic_with_extra(tmp_path, settings, dangling), "head")
    assert store_counts(settings) == before
    assert fetch(settings, "SELECT version_num FROM alembic_version") == [(HEAD,)]
