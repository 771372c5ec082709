"""The hub: this process's open live connections, and fan-out to them.

Every connection has its own bounded queue, filled without waiting: a client
that stops reading cannot hold up the others or grow the server's memory. When
its queue is full it is cleared and left a single `resync`, so the page offers a
refresh instead of silently missing changes. Each message is encoded once,
whatever the number of recipients.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

from admin_app.auth.permissions import Grants
from admin_app.live.messages import Actor, Change, Mode, Record, Viewer, dumps, presence_message
from admin_app.live.presence import Presence

CLOSE_SESSION_ENDED = 4401
"""WebSocket close code: the login session ended (logout, password change, expiry)."""

CLOSE_PERMISSIONS_CHANGED = 4409
"""WebSocket close code: the user's roles changed; the browser reconnects at once and is
told only what the user may see now."""

CLOSE_GOING_AWAY = 1001
"""WebSocket close code: the server is shutting down; the browser reconnects elsewhere."""

RESYNC = dumps({"type": "resync"})

K = TypeVar("K")


@dataclass(frozen=True)
class Closing:
    """The last item of a queue: close the connection with this code."""

    code: int
    reason: str


@dataclass(frozen=True)
class Page:
    """What a connection is looking at: a model's list (`pk` None) or one record."""

    model: str
    pk: str | None = None
    mode: Mode = "viewing"

    @property
    def record(self) -> Record | None:
        return None if self.pk is None else (self.model, self.pk)


class Subscriber:
    """One open connection: who it is, what it may see and watches, and its queue.

    The queue is a deque and at most one waiting future rather than an `asyncio.Queue`,
    which costs several times the memory; with thousands of idle connections per
    process that is the difference that matters (see bench/ws_capacity.py).
    """

    __slots__ = (
        "_items",
        "_waiter",
        "closing",
        "feed",
        "grants",
        "limit",
        "models",
        "page",
        "resyncs",
        "session_id",
        "user",
    )

    def __init__(
        self,
        user: Actor,
        session_id: str,
        models: frozenset[str],
        queue_size: int,
        *,
        feed: bool = False,
        grants: Grants | None = None,
    ) -> None:
        self.user = user
        self.grants = grants
        """The user's row scopes, for `admin_app.live.scopes` (None: no limits)."""
        self.session_id = session_id
        self.models = models
        """View keys this user may see; changes to others never reach it."""
        self.feed = feed
        """An event stream: gets every change to `models` (narrowed by `page`)."""
        self.page: Page | None = None
        self.limit = queue_size
        self.closing: Closing | None = None
        self.resyncs = 0
        self._items: deque[str | Closing] = deque()
        self._waiter: asyncio.Future[None] | None = None

    def offer(self, text: str) -> None:
        """Queue a message without waiting; a full queue becomes a single `resync`."""
        if self.closing is not None:
            return
        if len(self._items) >= self.limit:
            self._items.clear()
            self.resyncs += 1
            text = RESYNC
        self._put(text)

    def close(self, code: int, reason: str) -> None:
        """Ask the connection to close; nothing queued before is sent."""
        if self.closing is None:
            self.closing = Closing(code, reason)
            self._items.clear()
            self._put(self.closing)

    async def next(self) -> str | Closing:
        """The next message to send, or the `Closing` that ends the connection."""
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.popleft()

    def pending(self) -> list[str | Closing]:
        """Take everything queued, without waiting (for tests and diagnostics)."""
        items = list(self._items)
        self._items.clear()
        return items

    def wants(self, change: Change) -> bool:
        """Whether a feed subscriber's filter lets `change` through."""
        if change.model not in self.models:
            return False
        if self.page is None:
            return True
        return change.model == self.page.model and (
            self.page.pk is None or self.page.pk in change.pks
        )

    def _put(self, item: str | Closing) -> None:
        self._items.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class Hub:
    """Routes changes and presence to the connections of this process that want them."""

    def __init__(self, presence: Presence) -> None:
        self.presence = presence
        self.subscribers: set[Subscriber] = set()
        self.per_user: Counter[int] = Counter()
        self._lists: dict[str, set[Subscriber]] = {}
        self._records: dict[Record, set[Subscriber]] = {}
        self._feeds: set[Subscriber] = set()

    def add(self, subscriber: Subscriber) -> None:
        if subscriber not in self.subscribers:
            self.per_user[subscriber.user.id] += 1
        self.subscribers.add(subscriber)
        if subscriber.feed:
            self._feeds.add(subscriber)

    def remove(self, subscriber: Subscriber) -> list[Record]:
        """Forget a closed connection; return records whose local viewers changed (the
        connections still on them have been told; other processes are the caller's job)."""
        changed = self._unwatch(subscriber)
        if subscriber in self.subscribers:
            self.per_user[subscriber.user.id] -= 1
            if not self.per_user[subscriber.user.id]:
                del self.per_user[subscriber.user.id]
        self.subscribers.discard(subscriber)
        self._feeds.discard(subscriber)
        return changed

    def watch(self, subscriber: Subscriber, page: Page | None) -> list[Record]:
        """Point a connection at a page; return records whose local viewers changed (as
        with `remove`, this process's connections on them have been told)."""
        changed = self._unwatch(subscriber)
        subscriber.page = page
        if page is None or subscriber.feed:
            return changed
        if page.record is None:
            self._lists.setdefault(page.model, set()).add(subscriber)
            return changed
        self._records.setdefault(page.record, set()).add(subscriber)
        viewer = Viewer(subscriber.user.id, subscriber.user.name, page.mode)
        if self.presence.enter(subscriber, page.record, viewer):
            changed.append(page.record)
            self.show_presence(page.record)  # everyone there, this one included
        else:  # already there in another tab: only this connection needs the list
            merged = self.presence.merged(page.record)
            subscriber.offer(dumps(presence_message(page.record, merged)))
        return changed

    def deliver(self, change: Change, targets: Iterable[Subscriber] | None = None) -> int:
        """Queue `change` for `targets` (default: every connection that wants it); return
        how many."""
        text = dumps(change.to_json())
        chosen = self.targets(change) if targets is None else set(targets)
        for subscriber in chosen:
            subscriber.offer(text)
        return len(chosen)

    def targets(self, change: Change) -> set[Subscriber]:
        """The connections that want `change`: on its model's list, on one of its records,
        or following a feed that lets it through."""
        targets = set(self._lists.get(change.model, ()))
        for pk in change.pks:
            targets.update(self._records.get((change.model, pk), ()))
        targets.update(s for s in self._feeds if s.wants(change))
        return targets

    def show_presence(self, record: Record) -> None:
        """Tell the connections on `record`'s page who is there now."""
        watchers = self._records.get(record)
        if watchers:
            text = dumps(presence_message(record, self.presence.merged(record)))
            for subscriber in watchers:
                subscriber.offer(text)

    def tell(self, user_id: int, text: str) -> int:
        """Queue `text` for every connection of one user; return how many."""
        chosen = [s for s in self.subscribers if s.user.id == user_id]
        for subscriber in chosen:
            subscriber.offer(text)
        return len(chosen)

    def broadcast(self, text: str) -> None:
        """Queue `text` for every connection."""
        for subscriber in self.subscribers:
            subscriber.offer(text)

    def close_all(self, code: int, reason: str) -> None:
        for subscriber in self.subscribers:
            subscriber.close(code, reason)

    def _unwatch(self, subscriber: Subscriber) -> list[Record]:
        page = subscriber.page
        subscriber.page = None
        if page is None or subscriber.feed:
            return []
        record = page.record
        if record is None:
            _discard(self._lists, page.model, subscriber)
            return []
        _discard(self._records, record, subscriber)
        if not self.presence.leave(subscriber, record):
            return []
        self.show_presence(record)
        return [record]


def _discard(index: dict[K, set[Subscriber]], key: K, subscriber: Subscriber) -> None:
    members = index.get(key)
    if members is not None:
        members.discard(subscriber)
        if not members:
            del index[key]
