"""An import refuses exactly what the create form refuses, value by value, drawn from
the same odd values the form property tests use (`tests/values.py`)."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

import pytest
from sqlalchemy import inspect
from starlette.datastructures import FormData
from starlette_admin import RequestAction
from starlette_admin.exceptions import FormValidationError

from admin_app.admin.views.customer import CustomerView
from admin_app.admin.views.product import ProductView
from admin_app.db import create_engine, create_sessionmaker
from admin_app.imports.requests import COMMAND_LINE, for_row, import_request
from admin_app.models import ImportMode
from tests.imports.helpers import validate
from tests.values import NUMBERS, ODD_TEXT

PRODUCT = {"name": "Lamp", "sku": "L-1", "price": "12.50", "stock": "3"}
CUSTOMER = {"first_name": "Ann", "last_name": "Lee", "email": "ann@example.com", "country": "FR"}
CASES = [
    *((ProductView, PRODUCT, "price", v) for v in NUMBERS),
    *((ProductView, PRODUCT, "stock", v) for v in NUMBERS),
    *((ProductView, PRODUCT, "name", v) for v in ODD_TEXT),
    *((CustomerView, CUSTOMER, "email", v) for v in ODD_TEXT),
    *((CustomerView, CUSTOMER, "country", v) for v in ("", "FR", "fr", "ZZ", "France", " ")),
]


async def form_refuses(settings, view_class, row: dict[str, str], field: str) -> bool:
    """Whether the create form, sent `row`, reports a problem at `field`."""
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            base = import_request(session=session, grants=COMMAND_LINE, settings=settings)
            request = for_row(base, RequestAction.CREATE)
            view = view_class()
            fields = view.get_fields_list(request)
            form = FormData([(f.id, row[f.name]) for f in fields if f.name in row])
            data = {f.name: None for f in fields}
            for f in fields:
                if f.name in row:
                    data[f.name] = await f.parse_input(request, form)
            try:
                columns = inspect(view.model).columns
                # What an import never sets: relations, and files (excluded from imports).
                others = [f.name for f in fields if f.name not in columns or f.exclude_from_import]
                await view.validate_fields(request, data, exclude=["id", *others])
            except FormValidationError as error:
                return field in error.errors
            return False
    finally:
        await engine.dispose()


def write_row(path: Path, row: dict[str, str]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(list(row))
        writer.writerow(list(row.values()))
    return path


@pytest.mark.parametrize(
    ("view_class", "row", "field", "value"),
    CASES,
    ids=[f"{c[0].key}-{c[2]}-{c[3][:12]!r}" for c in CASES],
)
def test_the_import_refuses_what_the_form_refuses(
    settings, tmp_path, view_class, row, field, value
):
    row = {**row, field: value}
    form = asyncio.run(form_refuses(settings, view_class, row, field))
    path = write_row(tmp_path / "one.csv", row)
    report = asyncio.run(validate(settings, path, mode=ImportMode.CREATE, view=view_class))
    imported = any(e.field == field for e in report.first_errors)
    assert imported == form, (
        f"{field}={value[:40]!r}: the form {'refuses' if form else 'takes'} it, "
        f"the import {'refuses' if imported else 'takes'} it ({report.first_errors})"
    )
