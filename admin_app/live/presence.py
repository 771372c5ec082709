"""Presence: who is on which record's page, across every process.

Each process knows its own connections exactly. What other processes have is
soft state: they announce their viewers of a record whenever that list changes,
and repeat every heartbeat; an announcement not repeated within its time to live
is forgotten, so a process that dies without saying goodbye drops out by itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable

from admin_app.live.messages import Record, Viewer

MAX_VIEWERS = 50
"""Viewers listed per record and process; keeps every announcement within one NOTIFY."""


def summarize(viewers: Iterable[Viewer]) -> tuple[Viewer, ...]:
    """One entry per person (editing wins over viewing), sorted by name."""
    people: dict[int, Viewer] = {}
    for viewer in viewers:
        known = people.get(viewer.id)
        if known is None or (viewer.mode == "editing" and known.mode != "editing"):
            people[viewer.id] = viewer
    ordered = sorted(people.values(), key=lambda v: (v.name.lower(), v.id))
    return tuple(ordered[:MAX_VIEWERS])


class Presence:
    """This process's viewers, exact; other processes', as last announced."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._local: dict[Record, dict[Hashable, Viewer]] = {}
        self._remote: dict[Record, dict[str, tuple[tuple[Viewer, ...], float]]] = {}

    def local(self, record: Record) -> tuple[Viewer, ...]:
        """This process's viewers of `record`."""
        return summarize(self._local.get(record, {}).values())

    def merged(self, record: Record) -> tuple[Viewer, ...]:
        """Everyone on `record`'s page, in any process."""
        remote = [v for viewers, _ in self._remote.get(record, {}).values() for v in viewers]
        return summarize([*self._local.get(record, {}).values(), *remote])

    def local_records(self) -> list[Record]:
        """Records this process has viewers of."""
        return list(self._local)

    def enter(self, who: Hashable, record: Record, viewer: Viewer) -> bool:
        """`who` (a connection) is on `record`'s page; True if this process's list changed."""
        before = self.local(record)
        self._local.setdefault(record, {})[who] = viewer
        return self.local(record) != before

    def leave(self, who: Hashable, record: Record) -> bool:
        """`who` left `record`'s page; True if this process's list changed."""
        before = self.local(record)
        viewers = self._local.get(record, {})
        viewers.pop(who, None)
        if not viewers:
            self._local.pop(record, None)
        return self.local(record) != before

    def announce(self, node: str, record: Record, viewers: tuple[Viewer, ...]) -> bool:
        """Another process's viewers of `record`; True if the merged list changed."""
        before = self.merged(record)
        nodes = self._remote.setdefault(record, {})
        if viewers:
            nodes[node] = (viewers, self.clock() + self.ttl)
        else:
            nodes.pop(node, None)
        if not nodes:
            del self._remote[record]
        return self.merged(record) != before

    def expire(self) -> list[Record]:
        """Forget announcements past their time to live; return records whose list changed."""
        now = self.clock()
        changed = []
        for record in list(self._remote):
            before = self.merged(record)
            nodes = self._remote[record]
            for node in [n for n, (_, until) in nodes.items() if until <= now]:
                del nodes[node]
            if not nodes:
                del self._remote[record]
            if self.merged(record) != before:
                changed.append(record)
        return changed
