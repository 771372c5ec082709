"""The ORM session class that sends a request's plain reads to a replica.

SQLAlchemy's documented way to split reads from writes is a `Session` whose `get_bind`
chooses the engine per statement; every app session is one (`db.create_sessionmaker`).
A session reads from a replica only when `info[REPLICA]` holds a `ReplicaRead`, which
`routing.route_reads` puts there for a read-only request. Then a SELECT goes to the
replica unless it reads a table in `PRIMARY_TABLES` (for an ORM statement: unless its
entity is mapped to one); an INSERT, UPDATE or DELETE, a
flush, and every statement after the first of those go to the primary, so nothing in a
write transaction reads from a replica.

A replica read that fails for want of a connection (the replica stopped, or restarts)
is run again on the primary, and the replica is reported down (`ReplicaRead.failed`):
the request gets its page, not an error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Mapper, Session
from sqlalchemy.sql import visitors
from sqlalchemy.sql.selectable import CompoundSelect, Select

log = logging.getLogger(__name__)

REPLICA = "replica"
"""The `Session.info` key of the session's `ReplicaRead`."""

ON_REPLICA = "on_replica"
"""The `Session.info` key that says whether the statement running went to the replica."""

PRIMARY_TABLES = frozenset(
    {
        "admin_user",
        "admin_user_role",
        "api_token",
        "admin_session",
        "role",
        "role_permission",
        "recovery_code",
        "login_failure",
        "rate_limit_counter",
    }
)
"""Tables read from the primary even by read-only requests: who is signed in and what
they may do. A replica a few seconds behind would keep a revoked session or role
working for those seconds."""


@dataclass(frozen=True)
class ReplicaRead:
    """The replica a session reads from, and whom to tell when it fails."""

    engine: AsyncEngine
    failed: Callable[[AsyncEngine], None]


class RoutingSession(Session):
    """A `Session` that reads from `info[REPLICA]` where it may (see the module)."""

    def get_bind(self, mapper: Any = None, *, clause: Any = None, **kw: Any) -> Engine | Connection:
        replica = self._replica()
        if replica is not None and _replica_may_serve(mapper, clause):
            self.info[ON_REPLICA] = True
            return replica.engine.sync_engine
        if replica is not None and getattr(clause, "is_dml", False):
            self.info[REPLICA] = None  # a write: the rest of the session reads the primary
        return super().get_bind(mapper, clause=clause, **kw)

    def execute(self, statement: Any, *args: Any, **kw: Any) -> Any:
        return self._on_primary_if_replica_fails(super().execute, statement, *args, **kw)

    def scalar(self, statement: Any, *args: Any, **kw: Any) -> Any:
        return self._on_primary_if_replica_fails(super().scalar, statement, *args, **kw)

    def scalars(self, statement: Any, *args: Any, **kw: Any) -> Any:
        return self._on_primary_if_replica_fails(super().scalars, statement, *args, **kw)

    def _replica(self) -> ReplicaRead | None:
        if not self.info:  # `info` is made on first use: most sessions never read one
            return None
        replica: ReplicaRead | None = self.info.get(REPLICA)
        return replica

    def _on_primary_if_replica_fails(self, run: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        replica = self._replica()
        if replica is None:
            return run(*args, **kw)
        self.info[ON_REPLICA] = False  # `get_bind` says otherwise when it picks the replica
        try:
            return run(*args, **kw)
        except (DBAPIError, OSError, TimeoutError) as error:
            if not (self.info[ON_REPLICA] and _lost_connection(error)):
                raise
            reason = str(getattr(error, "orig", None) or error).splitlines()[0]
            log.info("a replica read failed (%s); reading from the primary", reason)
            self.info[REPLICA] = None
            replica.failed(replica.engine)
            return run(*args, **kw)


@event.listens_for(RoutingSession, "before_flush")
def _flush_on_primary(session: Session, _context: Any, _instances: Any) -> None:
    """A flush writes: from here on the session reads what it wrote, on the primary."""
    if session.info:
        session.info[REPLICA] = None


def _replica_may_serve(mapper: Any, clause: Any) -> bool:
    """Whether `clause` is a SELECT that reads none of `PRIMARY_TABLES`.

    An ORM statement is judged by the table of its entity (`mapper`): the sign-in and
    permission checks select from those tables first. Walking every statement instead
    would cost about 0.1 ms for a list page's query; a Core statement, with no entity,
    is walked."""
    if not isinstance(clause, Select | CompoundSelect):
        return False
    if isinstance(mapper, Mapper):
        return mapper.local_table.name not in PRIMARY_TABLES  # type: ignore[attr-defined]
    for element in visitors.iterate(clause):
        if isinstance(element, Table) and element.name in PRIMARY_TABLES:
            return False
    return True


def _lost_connection(error: BaseException) -> bool:
    """Whether `error` says the server could not be reached or went away, not that the
    statement was wrong (which the primary would refuse the same way)."""
    if isinstance(error, OSError | TimeoutError):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, OperationalError | InterfaceError)
