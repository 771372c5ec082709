""" "Not in the trash" is written once, in `Trashable.live`, and means the same in the ORM
criterion, in Core statements and in the partial unique indexes."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateIndex

import admin_app
from admin_app.db import Trashable, table_of
from admin_app.models import Customer, Product, Tag
from admin_app.settings import Settings
from tests.helpers import fetch, run

WRITTEN = re.compile(r"deleted_at\s+IS\s+(NOT\s+)?NULL|deleted_at\.is_(not)?\(", re.IGNORECASE)


def test_only_db_py_says_what_is_in_the_trash():
    root = Path(admin_app.__file__).parent
    elsewhere = [
        f"{path.relative_to(root.parent)}:{n}: {line.strip()}"
        for path in sorted(root.rglob("*.py"))
        if path.name != "db.py" or path.parent != root
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if WRITTEN.search(line)
    ]
    assert not elsewhere, "use Trashable.live / in_trash instead:\n" + "\n".join(elsewhere)


def test_live_reads_the_same_over_a_table_and_over_a_model(seeded: Settings):
    fetch(seeded, "UPDATE customer SET deleted_at = created_at WHERE id <= 3")
    core = select(table_of(Customer).c.id).where(Trashable.live(table_of(Customer)))
    orm = (
        select(Customer.id).where(Trashable.live(Customer)).execution_options(include_trashed=True)
    )

    async def both(db):
        return (await db.scalars(core)).all(), (await db.scalars(orm)).all()

    from_table, from_model = run(seeded, both)
    assert sorted(from_table) == sorted(from_model) and min(from_table) == 4
    assert Trashable.live(table_of(Tag)).compare(true()), "a table without a trash is all live"


def test_the_unique_indexes_cover_the_live_rows_only():
    for table in (table_of(Product), table_of(Customer)):
        unique = [index for index in table.indexes if index.unique]
        for index in unique:
            for dialect in (postgresql.dialect(), sqlite.dialect()):
                ddl = str(CreateIndex(index).compile(dialect=dialect))
                assert ddl.endswith("WHERE deleted_at IS NULL"), ddl
