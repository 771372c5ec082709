"""What a restore from the trash would do, decided before anything changes.

Each chosen record either comes back (with the children that went to the trash with
it) or is held back because one of its unique values is taken: by a record outside
the trash, or by another record of the same restore. A held-back record is listed with
a field for a new value; a new value posted as `<field>-<pk>` is tried first. Nothing
is set on any row until the plan is carried out, so a held-back row is never written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession

from admin_app.db import Base
from admin_app.trash.service import restored_with, unique_clashes


@dataclass
class RestorePlan:
    """The chosen rows split into those that come back and those held back."""

    ready: list[Any] = field(default_factory=list)
    """Rows restored as they are, or with the new values in `new_values`."""
    held: list[Any] = field(default_factory=list)
    """Rows not restored: a unique value is taken (see `problems`)."""
    problems: dict[str, dict[str, str]] = field(default_factory=dict)
    """`{pk: {field: message}}` for each held row."""
    new_values: dict[str, dict[str, str]] = field(default_factory=dict)
    """`{pk: {field: value}}`: the new values given for ready rows."""

    def apply(self) -> None:
        """Set the new values on the ready rows (just before they are restored)."""
        for row in self.ready:
            for name, value in self.new_values.get(pk_of(row), {}).items():
                setattr(row, name, value)


def pk_of(row: Any) -> str:
    """A row's key, as forms and URLs carry it."""
    return str(inspect(row).identity[0])


def chosen_pks(values: Any) -> list[str]:
    """The keys a selection names, once each: the ticked `pks`, and every `page_pks` when
    "Select all on this page" (`all_on_page`) is ticked. `values` is the query string
    (the trash page's selection form) or a posted form."""
    pks = [str(pk) for pk in values.getlist("pks")]
    if values.get("all_on_page"):
        pks += [str(pk) for pk in values.getlist("page_pks")]
    return list(dict.fromkeys(pk for pk in pks if pk))


async def plan_restore(
    db: AsyncSession, view: Any, rows: Sequence[Any], form: Mapping[str, Any]
) -> RestorePlan:
    """Which of `rows` (trashed rows of `view`'s model) a restore brings back now."""
    lowercase = tuple(getattr(view, "case_insensitive_unique", ()))
    unique = (*getattr(view, "unique_fields", ()), *lowercase)
    plan = RestorePlan()
    taken: dict[str, set[Any]] = {name: set() for name in unique}
    for row in rows:
        pk = pk_of(row)
        values, problems = _new_values(row, unique, form, pk)
        final = {name: values.get(name, getattr(row, name)) for name in unique}
        for name in await unique_clashes(db, view.model, final, unique, lowercase):
            problems.setdefault(name, _taken(name, "Another record now has"))
        for name, value in final.items():
            if _comparable(value, name in lowercase) in taken[name]:
                problems.setdefault(name, _taken(name, "Another record you are restoring has"))
        if problems:
            plan.held.append(row)
            plan.problems[pk] = problems
            continue
        plan.ready.append(row)
        plan.new_values[pk] = values
        for name, value in final.items():
            if value is not None:
                taken[name].add(_comparable(value, name in lowercase))
    return plan


async def coming_back(
    db: AsyncSession, view: Any, rows: Sequence[Any], views: Mapping[type[Base], Any]
) -> list[tuple[str, int]]:
    """(label, count) of the records that come back with `rows`, per model: what the
    confirmation page says goes with them. `views` names the models."""
    counts = await restored_with(db, view.model, rows)
    return [(_label(model, views), count) for model, count in counts.items()]


def _new_values(
    row: Any, fields: Sequence[str], form: Mapping[str, Any], pk: str
) -> tuple[dict[str, str], dict[str, str]]:
    """The new values posted for `row`'s unique fields, and messages for unusable ones."""
    values: dict[str, str] = {}
    problems: dict[str, str] = {}
    columns = inspect(type(row)).columns
    for name in fields:
        posted = form.get(f"{name}-{pk}")
        if posted is None:
            continue
        value = str(posted).strip()
        length = getattr(columns[name].type, "length", None)
        if not value or "\x00" in value or (length is not None and len(value) > length):
            label = name.replace("_", " ")
            problems[name] = f"Enter a {label} of 1 to {length or 'any'} characters."
            continue
        values[name] = value
    return values, problems


def _taken(name: str, who: str) -> str:
    return f"{who} this {name.replace('_', ' ')}. Enter a new one to restore this record."


def _comparable(value: Any, lowercase: bool) -> Any:
    return value.strip().lower() if lowercase and isinstance(value, str) else value


def _label(model: type[Base], views: Mapping[type[Base], Any]) -> str:
    view = views.get(model)
    label = getattr(view, "menu_label", None) or getattr(view, "label", None)
    return str(label or model.__name__)
