"""`LiveService`: one per process, started and stopped by the app's lifespan.

Changes are delivered to this process's connections first, then sent to the other
processes; what arrives from them is delivered here the same way. Changes
published while one request runs its after-commit callbacks (a batch delete of a
thousand rows) are sent as one message per model, action and user.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection

from admin_app.auth.permissions import Grants
from admin_app.auth.sessions import Timeouts
from admin_app.live.broker import Broker, LocalBroker, PostgresBroker, listen_options
from admin_app.live.hub import CLOSE_GOING_AWAY, RESYNC, Hub, Page, Subscriber
from admin_app.live.messages import Actor, Change, Record, coalesce, dumps, parse_viewers
from admin_app.live.presence import Presence
from admin_app.live.scopes import Scopes
from admin_app.live.watcher import SessionWatcher
from admin_app.observability.metrics import Metrics
from admin_app.settings import Settings

log = logging.getLogger(__name__)


class LiveService:
    """This process's connections, presence, link to the other processes, and session checks."""

    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        metrics: Metrics | None = None,
        scopes: Scopes | None = None,
    ) -> None:
        self.metrics = metrics
        self.scopes = scopes
        """Row scopes of the registered views; None: every listener sees every row."""
        self.node = secrets.token_hex(6)
        self.queue_size = settings.live_queue_size
        self.max_per_user = settings.live_max_connections_per_user
        self.heartbeat = settings.live_heartbeat
        self.presence = Presence(ttl=3 * settings.live_heartbeat)
        self.hub = Hub(self.presence)
        self.watcher = SessionWatcher(
            self.hub, sessions, Timeouts.from_settings(settings), settings.live_check_interval
        )
        self.broker: Broker = self._broker(settings)
        self.published = 0
        self._pending: list[Change] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._scoped: set[asyncio.Task[None]] = set()

    def _broker(self, settings: Settings) -> Broker:
        if settings.is_sqlite:
            return LocalBroker(self._connected)
        url = settings.direct_db_url
        if settings.through_pooler(url):
            # A transaction-pooling PgBouncer hands the LISTENing server connection to
            # other clients and drops what it hears while idle: nothing would arrive.
            log.warning(
                "live: DATABASE_POOLER=%s and no DATABASE_DIRECT_URL: pages update only "
                "for changes made in this process; set DATABASE_DIRECT_URL to PostgreSQL "
                "itself to hear the other processes",
                settings.database_pooler,
            )
            return LocalBroker(self._connected)
        return PostgresBroker(
            node=self.node,
            connect_options=listen_options(url, settings.db_connect_timeout),
            on_messages=self._received,
            on_connected=self._connected,
            heartbeat=settings.live_heartbeat,
        )

    async def start(self) -> None:
        await self.broker.start()
        self._tasks = [
            asyncio.create_task(self.watcher.run(), name="live-sessions"),
            asyncio.create_task(self._refresh(), name="live-presence"),
        ]

    async def stop(self) -> None:
        """Say goodbye to the other processes and close every connection."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._send_presence(self.presence.local_records(), leaving=True)
        self.hub.close_all(CLOSE_GOING_AWAY, "The server is restarting.")
        await self.broker.stop()

    def has_room_for(self, user: Actor) -> bool:
        """Whether `user` may open one more live connection in this process."""
        return self.hub.per_user[user.id] < self.max_per_user

    def connect(
        self,
        user: Actor,
        session_id: str,
        models: frozenset[str],
        *,
        feed: bool = False,
        grants: Grants | None = None,
    ) -> Subscriber:
        """A new connection of `user`, who may see `models` (within `grants`' scopes)."""
        subscriber = Subscriber(user, session_id, models, self.queue_size, feed=feed, grants=grants)
        self.hub.add(subscriber)
        if self.metrics:
            self.metrics.live_connections.inc()
        return subscriber

    def disconnect(self, subscriber: Subscriber) -> None:
        if self.metrics:
            self.metrics.live_connections.dec()
        self._presence_changed(self.hub.remove(subscriber))

    def watch(self, subscriber: Subscriber, page: Page | None) -> None:
        """The connection's page changed (or it left every record, with None)."""
        self._presence_changed(self.hub.watch(subscriber, page))

    async def may_see(self, subscriber: Subscriber, model: str, pk: str) -> bool:
        """Whether the connection's user may open record `pk` of `model` (its row scope)."""
        if self.scopes is None or subscriber.grants is None:
            return True
        return pk in await self.scopes.visible(subscriber.grants, model, [pk])

    def publish(self, change: Change) -> None:
        """Deliver a committed change everywhere; batched with others from the same moment."""
        if not self._pending:
            asyncio.get_running_loop().call_soon(self._flush)
        self._pending.append(change)

    def tell(self, user_id: int, message: dict[str, Any]) -> None:
        """Send `message` to every live connection of one user, in every process: how
        that user's import job is going, whichever process runs it."""
        self.hub.tell(user_id, dumps(message))
        self.broker.send([{"type": "user", "user": user_id, "message": message}])

    def stats(self) -> dict[str, int]:
        """Numbers for monitoring."""
        return {
            "connections": len(self.hub.subscribers),
            "published": self.published,
            "resyncs": sum(s.resyncs for s in self.hub.subscribers),
        }

    def _flush(self) -> None:
        changes = coalesce(self._pending)
        self._pending.clear()
        for change in changes:
            self._deliver(change)
        self.published += len(changes)
        if self.metrics:
            self.metrics.live_changes.inc(len(changes))
        self.broker.send([change.to_json() for change in changes])

    def _deliver(self, change: Change) -> None:
        """To listeners who may see every row of the change's model at once; to those
        limited by a row scope, each group its visible part, once it is known."""
        targets = self.hub.targets(change)
        scoped: dict[str, list[Subscriber]] = {}
        if self.scopes is not None:
            for subscriber in targets:
                key = self._scope_key(subscriber, change.model)
                if key is not None:
                    scoped.setdefault(key, []).append(subscriber)
        limited = {s for group in scoped.values() for s in group}
        self.hub.deliver(change, targets - limited)
        for group in scoped.values():
            task = asyncio.create_task(self._deliver_within(change, group), name="live-scoped")
            self._scoped.add(task)
            task.add_done_callback(self._scoped.discard)

    def _scope_key(self, subscriber: Subscriber, model: str) -> str | None:
        if self.scopes is None or subscriber.grants is None:
            return None
        return self.scopes.key(subscriber.grants, model)

    async def _deliver_within(self, change: Change, group: list[Subscriber]) -> None:
        assert self.scopes is not None
        assert group[0].grants is not None
        try:
            visible = await self.scopes.visible(group[0].grants, change.model, change.pks)
        except Exception:  # the database is away: better a resync than a leak
            log.warning("live: could not check a row scope; asking for a refresh", exc_info=True)
            for subscriber in group:
                subscriber.offer(RESYNC)
            return
        pks = tuple(pk for pk in change.pks if pk in visible)
        if pks:
            self.hub.deliver(replace(change, pks=pks), group)

    def _presence_changed(self, records: list[Record]) -> None:
        self._send_presence(records)  # the hub has told this process's connections

    def _send_presence(self, records: list[Record], *, leaving: bool = False) -> None:
        if records:
            self.broker.send([self._presence_message(r, leaving) for r in records])

    def _presence_message(self, record: Record, leaving: bool) -> dict[str, Any]:
        viewers = [] if leaving else [list(v) for v in self.presence.local(record)]
        return {"type": "presence", "model": record[0], "pk": record[1], "viewers": viewers}

    def _connected(self, first: bool) -> None:
        """(Re)connected to the other processes: exchange presence; catch up if needed."""
        self.broker.send([{"type": "sync"}])
        self._send_presence(self.presence.local_records())
        if not first:
            self.hub.broadcast(RESYNC)
            self.watcher.check_soon()

    def _received(self, node: str, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            try:
                self._handle(node, message)
            except ValueError as error:
                log.warning("live: ignored a message from %s: %s", node, error)

    def _handle(self, node: str, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "change":
            self._deliver(Change.from_json(message))
        elif kind == "presence":
            record = (str(message.get("model")), str(message.get("pk")))
            if self.presence.announce(node, record, parse_viewers(message.get("viewers"))):
                self.hub.show_presence(record)
        elif kind == "sync":
            self._send_presence(self.presence.local_records())
        elif kind == "recheck":
            self.watcher.check_soon()
        elif kind == "user":
            user, told = message.get("user"), message.get("message")
            if not (isinstance(user, int) and isinstance(told, dict)):
                raise ValueError(f"not a message to a user: {message!r:.200}")
            self.hub.tell(user, dumps(told))
        else:
            raise ValueError(f"unknown message type {kind!r:.40}")

    async def _refresh(self) -> None:
        """Repeat this process's presence, and forget other processes' that went quiet."""
        while True:
            await asyncio.sleep(self.heartbeat)
            self._send_presence(self.presence.local_records())
            for record in self.presence.expire():
                self.hub.show_presence(record)


def get_live(conn: HTTPConnection) -> LiveService:
    """This process's live feed: connections, presence, publishing (made by the lifespan)."""
    live: LiveService = conn.state.live
    return live


def find_live(conn: HTTPConnection) -> LiveService | None:
    """The live feed, or None in an app built without a lifespan (some unit tests)."""
    return getattr(conn.state, "live", None)
