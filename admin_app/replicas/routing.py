"""Where a request reads: the one decision, for the admin and for any other caller.

`read_engine(conn)` answers it: a fit replica's engine, or None for the primary. It is
the primary when no replica is configured or fit (down, or behind by more than
`REPLICA_MAX_LAG`), and for a browser that wrote within `REPLICA_STICKY_SECONDS`
(`sticky`). `route_reads(session, conn)` makes a request's session read there; the
database middleware calls it for the requests its `replica_reads` predicate names (the
admin's list pages, searches, relation pickers and dashboard), and a JSON API would call
it in its read endpoints. Each decision is counted in `admin_app_db_reads_total`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from starlette.requests import HTTPConnection

from admin_app.observability.metrics import Metrics
from admin_app.replicas.health import ReplicaSet
from admin_app.replicas.session import REPLICA, ReplicaRead
from admin_app.replicas.sticky import StickyReads
from admin_app.state import get_sessionmaker


class ReadRouter:
    """The app's replicas and read-your-writes cookie, and the choice between them."""

    def __init__(self, replicas: ReplicaSet, sticky: StickyReads, metrics: Metrics) -> None:
        self.replicas = replicas
        self.sticky = sticky
        self.metrics = metrics

    @property
    def enabled(self) -> bool:
        """Whether any replica is configured."""
        return bool(self.replicas.replicas)

    def engine_for(self, conn: HTTPConnection) -> AsyncEngine | None:
        """A replica's engine for a read-only request, or None for the primary."""
        if not self.enabled:
            return None
        engine = None if self.sticky.wrote_recently(conn.scope) else self.replicas.pick()
        self.metrics.db_reads.labels("primary" if engine is None else "replica").inc()
        return engine


def get_reads(conn: HTTPConnection) -> ReadRouter | None:
    """The app's `ReadRouter` (built by the lifespan); None on a request made without it,
    such as a test's hand-made one, which then reads from the primary."""
    router: ReadRouter | None = getattr(conn.state, "reads", None)
    return router


def read_engine(conn: HTTPConnection) -> AsyncEngine | None:
    """Where a read-only request reads: a replica's engine, or None for the primary."""
    router = get_reads(conn)
    return None if router is None else router.engine_for(conn)


def route_reads(session: AsyncSession, conn: HTTPConnection) -> AsyncEngine | None:
    """Make `session` read from `read_engine(conn)` where it may (`RoutingSession`);
    returns that engine (None: the primary)."""
    router = get_reads(conn)
    engine = None if router is None else router.engine_for(conn)
    if router is not None and engine is not None:
        session.info[REPLICA] = ReplicaRead(engine, router.replicas.mark_down)
    return engine


@asynccontextmanager
async def read_connection(conn: HTTPConnection) -> AsyncIterator[AsyncConnection]:
    """A connection for a long read of its own (an export's rows), to `read_engine(conn)`.

    In a transaction (a server-side cursor needs one), unlike a request's reads. A
    replica that does not accept the connection is reported down, and the read made on
    the primary, in a session of its own as before replicas."""
    router = get_reads(conn)
    engine = None if router is None else router.engine_for(conn)
    if router is not None and engine is not None:
        connection = engine.execution_options(isolation_level="READ COMMITTED").connect()
        try:
            await connection.start()
        except Exception:  # every way of failing to connect: read from the primary
            router.replicas.mark_down(engine)
        else:
            try:
                yield connection
            finally:
                await connection.close()
            return
    async with get_sessionmaker(conn)() as session:
        yield await session.connection()
