"""The floor is a fair yardstick: it accepts every sort the admin's customer list
offers, orders as the admin does, and compresses as the admin does."""

from __future__ import annotations

from pathlib import Path

import pytest

from admin_app.admin.views.customer import CustomerView
from admin_app.main import create_app
from admin_app.middleware.compression import CompressionMiddleware
from bench import floor_app
from tests.conftest import make_settings


def test_the_floor_sorts_by_every_column_the_admin_offers() -> None:
    for name in CustomerView.sortable_fields:
        for direction in ("asc", "desc"):
            assert floor_app.sort_order(f"{name}__{direction}") == (name, direction == "desc")
    with pytest.raises(ValueError, match="cannot sort"):
        floor_app.sort_order("phone__asc; DROP TABLE customer")


def test_the_floor_orders_by_the_column_then_the_id_as_the_admin() -> None:
    assert floor_app.order_by("city", descending=True) == "city DESC, id DESC"
    assert floor_app.order_by("id", descending=False) == "id ASC"


def test_the_floor_gzips_at_the_admins_level(tmp_path: Path) -> None:
    app = create_app(make_settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/unused.db"))
    (admin,) = [m for m in app.user_middleware if m.cls is CompressionMiddleware]
    assert admin.kwargs["compresslevel"] == floor_app.GZIP_LEVEL
    assert admin.kwargs["minimum_size"] == floor_app.GZIP_MINIMUM
