"""Writes an audit row for every flushed create, update and delete, in the same transaction.

Hooked on SQLAlchemy's `after_flush` of every session, so it sees every ORM change,
whatever made it: admin forms, batch actions, imports, the CLI. Each entry point that
writes turns it on at start-up with `start_recording()`: the app's lifespan
(`admin_app.main`) and every `admin-app` command (`admin_app.cli`). Bulk SQL (the demo
seeder's COPY) is not ORM and is not logged.

Models opt out with `__audit__ = False`, and leave columns out with `__audit_exclude__`;
collections listed in `__audit_collections__` (many-to-many, like product tags) are
logged as lists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, event, insert, inspect
from sqlalchemy.orm import NO_VALUE, Session, UOWTransaction

from admin_app.audit.context import current_actor, current_change_set, current_note
from admin_app.audit.values import IGNORED_FIELDS, REDACTED, SECRET_FIELDS, to_json
from admin_app.db import table_of, utcnow
from admin_app.models import AuditEntry

AUDIT_TABLE = table_of(AuditEntry)

Recorded = list[tuple[str, dict[str, Any]]]
"""What one flush logged: each change's own action (`create`, `update`, `delete`, even
inside `audit_as`) and its audit entry."""
Subscriber = Callable[[Connection, Recorded], None]
_subscribers: dict[str, Subscriber] = {}


def subscribe(name: str, subscriber: Subscriber) -> None:
    """Hand what each flush logs to `subscriber` too, on the flush's connection (so in its
    transaction); a second call with the same `name` replaces the first."""
    _subscribers[name] = subscriber


def is_audited(obj: Any) -> bool:
    return bool(getattr(type(obj), "__audit__", True)) and not isinstance(obj, AuditEntry)


def object_pk(obj: Any) -> str:
    identity = inspect(type(obj)).primary_key_from_instance(obj)
    return ",".join(str(part) for part in identity)


def logged_value(name: str, value: Any) -> Any:
    """A value as an audit entry keeps it: JSON, and secrets redacted."""
    return REDACTED if name in SECRET_FIELDS and value is not None else to_json(value)


def _item(item: Any) -> Any:
    label = getattr(item, "audit_label", None)
    if label is not None:
        return label
    return {"id": object_pk(item), "label": str(item)}


def _column_keys(obj: Any) -> list[str]:
    mapper = inspect(type(obj))
    primary = {column.key for column in mapper.primary_key}
    excluded = IGNORED_FIELDS | primary | getattr(type(obj), "__audit_exclude__", frozenset())
    return [a.key for a in mapper.column_attrs if a.key not in excluded]


def created(obj: Any) -> dict[str, Any]:
    """Every set field of a new row, as `[None, value]`."""
    state = inspect(obj)
    changes = {
        key: [None, logged_value(key, state.attrs[key].value)]
        for key in _column_keys(obj)
        if state.attrs[key].value is not None
    }
    for name in getattr(type(obj), "__audit_collections__", ()):
        items = state.attrs[name].loaded_value
        if items is not NO_VALUE and items:
            changes[name] = [[], [_item(i) for i in items]]
    return changes


def updated(obj: Any) -> dict[str, Any]:
    """The fields that changed, as `[before, after]`."""
    state = inspect(obj)
    changes: dict[str, Any] = {}
    for key in _column_keys(obj):
        history = state.attrs[key].history
        if history.has_changes():
            before = history.deleted[0] if history.deleted else None
            after = history.added[0] if history.added else None
            if before != after:
                changes[key] = [logged_value(key, before), logged_value(key, after)]
    for name in getattr(type(obj), "__audit_collections__", ()):
        history = state.attrs[name].history
        if history.added or history.deleted:
            kept = list(history.unchanged)
            changes[name] = [
                [_item(i) for i in kept + list(history.deleted)],
                [_item(i) for i in kept + list(history.added)],
            ]
    return changes


def deleted(obj: Any) -> dict[str, Any]:
    """The whole row as it was, as `[value, None]`, so it can be re-created."""
    state = inspect(obj)
    changes: dict[str, Any] = {}
    for key in _column_keys(obj):
        value = state.attrs[key].loaded_value
        if value is not NO_VALUE and value is not None:
            changes[key] = [logged_value(key, value), None]
    for name in getattr(type(obj), "__audit_collections__", ()):
        items = state.attrs[name].loaded_value
        if items is not NO_VALUE and items:
            changes[name] = [[_item(i) for i in items], []]
    return changes


def actor_columns() -> dict[str, Any]:
    """An audit row's when and who: now, and the actor of the current request or job."""
    actor = current_actor()
    return {"at": utcnow(), "user_id": actor.user_id, "actor": actor.label, "ip": actor.ip}


def entry(action: str, obj: Any, changes: dict[str, Any]) -> dict[str, Any]:
    note = current_note()
    return {
        **actor_columns(),
        "action": note[0] if note else action,
        "model": table_of(type(obj)).name,
        "object_pk": object_pk(obj),
        "object_repr": str(obj)[:200],
        "changes": changes,
        "note": note[1] if note else "",
        "change_set": current_change_set(),
    }


def start_recording() -> None:
    """Log every ORM change this process flushes from now on; calling it again does nothing.

    A hook on SQLAlchemy's `Session` class, so sessions made before the call are covered
    too, and so is every sessionmaker (the app's, the CLI's, the email worker's).
    """
    if not event.contains(Session, "after_flush", _record):
        event.listen(Session, "after_flush", _record)


def _record(session: Session, flush_context: UOWTransaction) -> None:
    logged = [("create", entry("create", o, created(o))) for o in session.new if is_audited(o)]
    for obj in session.dirty:
        if is_audited(obj) and session.is_modified(obj, include_collections=True):
            changes = updated(obj)
            if changes:
                logged.append(("update", entry("update", obj, changes)))
    logged += [("delete", entry("delete", o, deleted(o))) for o in session.deleted if is_audited(o)]
    if logged:
        write_entries(session.connection(), logged)


def write_entries(connection: Connection, logged: Recorded) -> None:
    """Insert the audit rows of `logged` and hand them to the subscribers (webhooks), on
    `connection`, in its transaction: what a flush does, for writers that update rows
    set-wise rather than through the ORM (a bulk edit's batches)."""
    connection.execute(insert(AUDIT_TABLE), [row for _action, row in logged])
    for subscriber in _subscribers.values():
        subscriber(connection, logged)
