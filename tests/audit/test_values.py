"""Column values as JSON (`audit.values.to_json`), as the log and the API write them,
and back (`from_json`), as a revert reads them."""

from __future__ import annotations

import enum
import json
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import inspect
from sqlalchemy.types import TypeDecorator

import admin_app.models  # noqa: F401 (every model registered)
from admin_app.audit.values import from_json, to_json
from admin_app.db import Base


def test_every_column_type_of_the_models_reads_back_from_its_json() -> None:
    """Each registered model's column types: a value written by `to_json` and read by
    `from_json` is the value again (what a revert relies on)."""
    examples = {
        bool: True, int: 7, str: "x", Decimal: Decimal("3.50"), date: date(2026, 3, 1),
        datetime: datetime(2026, 3, 1, 12, 30, tzinfo=UTC), float: 2.5,
    }  # fmt: skip
    seen = set()
    for mapper in Base.registry.mappers:
        for column in inspect(mapper.class_).columns:
            type_ = column.type.impl if isinstance(column.type, TypeDecorator) else column.type
            try:
                python_type: type = type_.python_type
            except NotImplementedError:
                continue
            value = examples.get(python_type)
            if isinstance(python_type, type) and issubclass(python_type, enum.Enum):
                value = next(iter(python_type))
            if value is None:
                continue
            seen.add(python_type)
            assert from_json(column, json.loads(json.dumps(to_json(value)))) == value, column
    assert {bool, int, str, datetime} <= seen
