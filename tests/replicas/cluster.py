"""A real streaming replica on this machine: a throw-away primary (`tests.pgcluster`) and
a `pg_basebackup -R` copy of it, started on another free port as a hot standby."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from tests.pgcluster import ThrowawayCluster
from tests.servers import poll


class StreamingReplica(ThrowawayCluster):
    """A standby of `primary`, streaming from it (`primary_conninfo` written by `-R`)."""

    def __init__(self, primary: ThrowawayCluster) -> None:
        super().__init__(primary.bin_dir, initdb=False)
        self._run(
            "pg_basebackup",
            *("-D", str(self.data), "-R", "-X", "stream", "-c", "fast", "--no-sync"),
            *("-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres"),
        )

    def pause(self) -> None:
        """Stop replaying WAL: from now on the replica falls behind the primary."""
        sql(self, "SELECT pg_wal_replay_pause()")

    def resume(self) -> None:
        sql(self, "SELECT pg_wal_replay_resume()")


def sql(
    cluster: ThrowawayCluster, statement: str, *args: Any, database: str = "admin"
) -> list[Any]:
    """Run one statement on `cluster` directly and return its rows."""

    async def go() -> list[Any]:
        connection = await asyncpg.connect(
            host="127.0.0.1", port=cluster.port, user="postgres", database=database
        )
        try:
            return list(await connection.fetch(statement, *args))
        finally:
            await connection.close()

    return asyncio.run(go())


def caught_up(primary: ThrowawayCluster, replica: StreamingReplica) -> None:
    """Wait until the replica has replayed everything the primary has written so far."""
    (target,) = sql(primary, "SELECT pg_current_wal_lsn()::text")[0]
    query = "SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn"
    poll(lambda: sql(replica, query, target)[0][0], within=10, what="the replica catching up")
