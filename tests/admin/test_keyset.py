"""Position tokens: they round-trip every sortable type and refuse anything else."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from admin_app.admin.lists import keyset
from admin_app.admin.lists.keyset import CursorError, SortKey
from admin_app.models import AdminUser, Customer, Order, OrderStatus, Product


def key(column, descending=False):
    nullable = bool(column.property.columns[0].nullable)
    return SortKey(column.key, column, descending=descending, nullable=nullable)


ROUND_TRIPS = [
    (key(Customer.id), 2**31 - 1),
    (key(Customer.email), "zoë+tag@example.com"),
    (key(Customer.is_active), False),
    (key(Customer.created_at), datetime(2026, 3, 1, 12, 30, tzinfo=UTC)),
    (key(Order.total), Decimal("1234.50")),
    (key(Order.status), OrderStatus.SHIPPED),
    (key(AdminUser.last_login), None),
]


@pytest.mark.parametrize(("sort_key", "value"), ROUND_TRIPS)
def test_positions_round_trip(sort_key, value):
    token = keyset.encode([value])
    assert token.isascii() and "=" not in token, "URL-safe, unpadded"
    assert keyset.decode(token, [sort_key]) == [value]


@pytest.mark.parametrize(
    ("sort_key", "raw"),
    [
        (key(Customer.id), 2**31),
        (key(Customer.id), True),
        (key(Customer.id), "1"),
        (key(Customer.id), None),
        (key(Customer.email), 5),
        (key(Customer.email), "nul\x00byte"),
        (key(Customer.is_active), 1),
        (key(Customer.created_at), "2026-03-01T12:30:00"),
        (key(Customer.created_at), "yesterday"),
        (key(Order.total), "NaN"),
        (key(Order.total), "12,5"),
        (key(Order.status), "lost"),
    ],
)
def test_positions_that_cannot_exist_are_refused(sort_key, raw):
    with pytest.raises(CursorError):
        keyset.decode(keyset.encode([raw]), [sort_key])


@pytest.mark.parametrize("token", ["", "%%%", "bm90IGpzb24", "e30", "x" * 3000])
def test_unreadable_tokens_are_refused(token):
    with pytest.raises(CursorError):
        keyset.decode(token, [key(Customer.id)])


def test_the_primary_key_breaks_ties_in_the_first_keys_direction():
    keys = keyset.with_tiebreaker([key(Product.price, descending=True)], [key(Product.id)])
    assert [(k.attr, k.descending) for k in keys] == [("price", True), ("id", True)]


def test_a_unique_column_needs_no_tiebreaker():
    keys = keyset.with_tiebreaker([key(Product.sku), key(Product.name)], [key(Product.id)])
    assert [k.attr for k in keys] == ["sku"]


def test_only_columns_with_comparable_values_can_be_paged_by():
    assert keyset.is_keyable(Customer.created_at) and keyset.is_keyable(Order.status)
    assert not keyset.is_keyable(Product.attributes), "JSON has no order"
    assert not keyset.is_keyable(Product.tags), "a relation is not a column"
