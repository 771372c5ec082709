"""Who is acting, for the audit log: set per request by the auth provider; by the CLI.

A web request starts as `anonymous` at its client's address (the auth provider, before
it looks at the session) and becomes its user once the session or a login names one.
Nothing a request does is left to whatever the process started as: `admin-app serve`
is a CLI command, and every request inherits the context it was started in.
"""

from __future__ import annotations

import getpass
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """The person (or process) behind a change."""

    user_id: int | None
    label: str
    ip: str = ""


SYSTEM = Actor(None, "system")
ANONYMOUS = "anonymous"

_actor: ContextVar[Actor] = ContextVar("audit_actor", default=SYSTEM)
_note: ContextVar[tuple[str, str] | None] = ContextVar("audit_note", default=None)
_change_set: ContextVar[str] = ContextVar("audit_change_set", default="")


def set_actor(actor: Actor) -> None:
    """Attribute the changes made from here on (in this task) to `actor`."""
    _actor.set(actor)


def current_actor() -> Actor:
    return _actor.get()


def visitor(ip: str) -> Actor:
    """A web request nobody is signed in to (yet)."""
    return Actor(None, ANONYMOUS, ip)


def cli_actor() -> Actor:
    """The operating-system user running an `admin-app` command."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "unknown"
    return Actor(None, f"cli:{name}")


@contextmanager
def audit_as(action: str, note: str) -> Iterator[None]:
    """Record the changes flushed inside the block as `action` (e.g. "revert"), with a note."""
    token = _note.set((action, note))
    try:
        yield
    finally:
        _note.reset(token)


def current_note() -> tuple[str, str] | None:
    return _note.get()


@contextmanager
def change_set() -> Iterator[str]:
    """Group the entries flushed inside the block as one change set (a form that saves a
    record with its child rows); yields the set's id. Inside another set, joins it."""
    current = _change_set.get()
    if current:
        yield current
        return
    token = _change_set.set(uuid.uuid4().hex)
    try:
        yield _change_set.get()
    finally:
        _change_set.reset(token)


def current_change_set() -> str:
    """The id of the change set being recorded, or "" outside one."""
    return _change_set.get()
