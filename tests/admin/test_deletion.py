"""The rules that decide what a delete takes with it, read from the models, for every model."""

from __future__ import annotations

import pytest
from sqlalchemy import (
    Column,
    ForeignKey,
    Integer,
    MetaData,
    Table,
    create_engine,
    func,
    insert,
    select,
)

from admin_app.admin.deletion import MAX_DEPTH, Outcome, consequences
from admin_app.db import Base, table_of
from admin_app.models import AdminUser, Category, Customer, Order, Product, Role, Tag

D, K, B = Outcome.DELETED, Outcome.DETACHED, Outcome.BLOCKING

EXPECTED = {
    # RESTRICT, and an ORM relationship that would set a NOT NULL key to NULL.
    Customer: {(B, "orders")},
    # `cascade="all, delete-orphan"` with `passive_deletes`, and ON DELETE CASCADE.
    Order: {(D, "order_line")},
    # RESTRICT from order lines; the tags only lose their link (the link rows go).
    Product: {(B, "order_line"), (K, "tag")},
    # ON DELETE SET NULL on a nullable key.
    Category: {(K, "product")},
    Tag: {(K, "product")},
    # CASCADE without any ORM relationship (sessions, recovery codes, API tokens, SSO
    # identities, saved views and remembered columns); SET NULL on the audit log, import
    # jobs and change requests (they keep the name); a role link.
    AdminUser: {
        (D, "admin_session"),
        (D, "recovery_code"),
        (D, "api_token"),
        (D, "oidc_identity"),
        (D, "saved_view"),
        (D, "list_preference"),
        (D, "role_default_view"),
        (K, "role"),
        (K, "audit_entry"),
        (K, "import_job"),
        (K, "change_request"),
    },
    # A role's default views go with it; views shared with it are no longer shared.
    Role: {(D, "role_permission"), (D, "role_default_view"), (K, "admin_user"), (K, "saved_view")},
}


@pytest.mark.parametrize("model", list(EXPECTED), ids=lambda m: m.__name__)
def test_each_model_deletes_detaches_and_is_blocked_as_its_keys_say(model):
    table = table_of(model)
    found = {(c.outcome, c.table.name) for c in consequences(table, table.c.id == 1)}
    assert found == EXPECTED[model]


def test_every_mapped_model_has_an_answer():
    for mapper in Base.registry.mappers:
        table = table_of(mapper.class_)
        keys = list(table.primary_key.columns)
        for consequence in consequences(table, keys[0] == keys[0]):
            assert consequence.where is not None, f"{mapper.class_.__name__}: no condition"


def test_a_table_that_refers_to_itself_cascades_down_its_tree():
    """Each level nests inside the one above; the nesting must not collapse into one query."""
    metadata = MetaData()
    node = Table(
        "node",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("parent_id", ForeignKey("node.id", ondelete="CASCADE")),
    )
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    chain = [{"id": 1, "parent_id": None}] + [{"id": i, "parent_id": i - 1} for i in range(2, 6)]
    with engine.begin() as connection:
        connection.execute(insert(node), chain)
        (found,) = consequences(node, node.c.id == 2)
        count = connection.scalar(select(func.count()).select_from(node).where(found.where))
    assert found.outcome is Outcome.DELETED
    assert count == 3, "deleting node 2 takes nodes 3, 4 and 5"
    assert MAX_DEPTH >= 3
