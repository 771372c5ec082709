"""Helpers for the delete-preview tests: read the confirmation page, add related rows in bulk."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from html import unescape
from typing import Any

from sqlalchemy import insert

from admin_app.db import table_of
from admin_app.models import Order, OrderLine
from admin_app.settings import Settings
from tests.helpers import fetch, run


@dataclass
class Shown:
    """One group of the confirmation page: its count, the records named, how many not named."""

    count: int
    links: list[tuple[str, str]]
    """(detail URL, name) of each record named with a link."""
    plain: list[str]
    """Names shown without a link."""
    more: int


def preview_state(html: str) -> str:
    """`allowed` or `blocked`, as the page says."""
    match = re.search(r'data-delete-preview="(\w+)"', html)
    assert match, f"no delete preview on the page: {html[:300]}"
    return match.group(1)


def groups(html: str) -> dict[tuple[str, str], Shown]:
    """Every group on the page, keyed by (kind, label): kind is `selected`, `deleted`,
    `detached` or `blocking`, the label a model's name such as "Orders"."""
    found = {}
    for chunk in html.split('data-delete-group="')[1:]:
        kind, rest = chunk.split("</section>")[0].split('"', 1)
        head = re.search(r"<strong>([^<]+): ([\d,]+)</strong>", rest)
        assert head, f"a {kind} group without its count: {rest[:200]}"
        more = re.search(r"and ([\d,]+) more", rest)
        found[(kind, unescape(head.group(1)))] = Shown(
            count=_number(head.group(2)),
            links=[
                (unescape(u), unescape(n))
                for u, n in re.findall(r'<a href="([^"]+)">([^<]+)</a>', rest)
            ],
            plain=[unescape(n) for n in re.findall(r"<li>([^<]+)</li>", rest)],
            more=_number(more.group(1)) if more else 0,
        )
    return found


def confirm_button(html: str) -> bool:
    return "Yes, delete</button>" in html


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def add_orders(settings: Settings, customer_id: int, n: int) -> list[int]:
    """`n` new orders of one customer; their ids."""
    placed = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        {"customer_id": customer_id, "status": "new", "total": Decimal("1.00"), "placed_at": placed}
        for _ in range(n)
    ]

    async def work(session: Any) -> None:
        await session.execute(insert(table_of(Order)), rows)

    run(settings, work)
    found = fetch(
        settings, "SELECT id FROM orders WHERE customer_id = :c ORDER BY id", c=customer_id
    )
    return [r[0] for r in found]


def add_lines(settings: Settings, order_id: int, n: int) -> None:
    """`n` new lines in one order, all of the first product."""
    product = fetch(settings, "SELECT min(id) FROM product")[0][0]
    rows = [
        {"order_id": order_id, "product_id": product, "quantity": 1, "unit_price": Decimal("2.00")}
        for _ in range(n)
    ]

    async def work(session: Any) -> None:
        await session.execute(insert(table_of(OrderLine)), rows)

    run(settings, work)


def new_customer(settings: Settings, email: str, country: str = "DE") -> int:
    """A customer with no orders; its id."""
    fetch(
        settings,
        "INSERT INTO customer (first_name, last_name, email, phone, city, country, is_active, "
        "created_at, version) VALUES ('Nora', 'Nobuys', :e, '', '', :c, :t, :now, 1)",
        e=email,
        c=country,
        t=True,
        now=datetime(2026, 1, 1),
    )
    return int(fetch(settings, "SELECT id FROM customer WHERE email = :e", e=email)[0][0])
