"""Which models webhook endpoints may follow, and which fields a payload may carry: from the
registry, so a model added to the admin can be followed with nothing more to do."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import inspect

from admin_app.admin.base import AppModelView
from admin_app.audit.values import SECRET_FIELDS
from admin_app.db import table_of
from admin_app.webhooks.topics import Topic, Topics


def webhook_topics(views: Iterable[AppModelView]) -> Topics:
    """A topic per view whose records people change (not logs, not the webhooks' own)."""
    return {
        table_of(view.model).name: Topic(str(view.key), view_label(view), shown_fields(view))
        for view in views
        if not view.read_only and not view.superuser_only
    }


def view_label(view: AppModelView) -> str:
    """The view's name in the menu."""
    return str(view.menu_label or view.key)


def shown_fields(view: AppModelView) -> frozenset[str]:
    """The audit-log names of what the view's detail page shows a superuser: its fields, and
    for a relation, the foreign key columns behind it. Never a secret column."""
    relations = inspect(view.model).relationships
    hidden = set(view.exclude_fields_from_detail or [])
    names: set[str] = set()
    for field in view.fields:
        name = getattr(field, "name", "")
        if (
            not isinstance(name, str)
            or name in hidden
            or getattr(field, "exclude_from_detail", False)
        ):
            continue
        names.add(name)
        if name in relations:
            names.update(str(column.key) for column in relations[name].local_columns)
    return frozenset(names - SECRET_FIELDS)
