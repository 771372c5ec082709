"""The live messages: what browsers receive, and the envelopes processes exchange.

To a browser (one JSON object per WebSocket message or SSE event):

- `{"type": "hello", "user": {"id", "name"}}`, once, when the connection opens;
- `{"type": "watching", "page": {"model", "pk"} or null}`: a WebSocket's `watch`
  message took effect (changes to that page are delivered from now on);
- `{"type": "change", "model", "pks", "action", "user": {"id", "name"}, "at"}`,
  where `action` is `created`, `updated` or `deleted` and `pks` lists the records
  (a batch delete is one message);
- `{"type": "presence", "model", "pk", "viewers": [{"id", "name", "mode"}]}`,
  everyone on that record's page, `mode` being `viewing` or `editing`;
- `{"type": "import", "job": {"id", "status", "rows_done", "new", "updated", ...}}`,
  only to the user who started that import job: how it is going (`imports.tasks`);
- `{"type": "bulk_edit", "edit": {"token", "status", "done", "total", "changed", ...}}`,
  only to the user who applies that bulk edit, as its batches commit (`bulk_edit.runs`);
- `{"type": "resync"}`: changes may have been missed (a slow client, a lost
  database connection); pages offer to refresh;
- `{"type": "error", "detail"}` before the server closes a connection it refuses.

Between processes, over PostgreSQL NOTIFY, an envelope `{"node", "m": [...]}` holds
changes as above, presence (`viewers` as `[id, name, mode]` triples), `sync` (a
process asks the others to repeat their presence) and `recheck` (sessions were
revoked), and `user` (`{"user": id, "message": {...}}`: a message for one user's
connections, wherever they are). A NOTIFY payload must stay under 8000 bytes, so `pack` splits.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, NamedTuple, cast, get_args

log = logging.getLogger(__name__)

CHANNEL = "admin_app_live"
"""The PostgreSQL NOTIFY channel every process listens on."""

MAX_PAYLOAD = 7900
"""Bytes per NOTIFY payload; PostgreSQL refuses 8000 or more."""

_PKS_BUDGET = 4000
"""Characters of keys per change message, leaving room for the rest."""

NAME_LIMIT = 100
"""User names are cut to this length in messages."""

Action = Literal["created", "updated", "deleted"]
Mode = Literal["viewing", "editing"]
Record = tuple[str, str]
"""A record as `(view key, primary key as text)`."""


def dumps(message: dict[str, Any]) -> str:
    """Compact JSON, as sent on the wire."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class Actor:
    """Who made a change or is looking at a record."""

    id: int
    name: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name[:NAME_LIMIT]}


@dataclass(frozen=True)
class Change:
    """Records of one model created, updated or deleted by one user."""

    model: str
    pks: tuple[str, ...]
    action: Action
    user: Actor
    at: str
    """When it was committed, ISO 8601 in UTC."""
    count: int = 0
    """For an import: how many rows it wrote, named by no `pks` (one message, not N)."""

    def to_json(self) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "change",
            "model": self.model,
            "pks": list(self.pks),
            "action": self.action,
            "user": self.user.to_json(),
            "at": self.at,
        }
        if self.count:
            message["count"] = self.count
        return message

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Change:
        """Parse a change from another process, or raise `ValueError`."""
        user = data.get("user")
        pks = data.get("pks")
        action = data.get("action")
        if not (
            isinstance(data.get("model"), str)
            and isinstance(pks, list)
            and all(isinstance(pk, str) for pk in pks)
            and action in get_args(Action)
            and isinstance(user, dict)
            and isinstance(user.get("id"), int)
            and isinstance(user.get("name"), str)
            and isinstance(data.get("at"), str)
        ):
            raise ValueError(f"not a change: {data!r:.200}")
        actor = Actor(user["id"], user["name"])
        count = data.get("count", 0)
        count = count if isinstance(count, int) and count > 0 else 0
        return cls(data["model"], tuple(pks), cast(Action, action), actor, data["at"], count)


class Viewer(NamedTuple):
    """Someone on a record's page."""

    id: int
    name: str
    mode: Mode


def presence_message(record: Record, viewers: Sequence[Viewer]) -> dict[str, Any]:
    """What the browsers on `record`'s page are told about who is there."""
    return {
        "type": "presence",
        "model": record[0],
        "pk": record[1],
        "viewers": [{"id": v.id, "name": v.name, "mode": v.mode} for v in viewers],
    }


def parse_viewers(raw: Any) -> tuple[Viewer, ...]:
    """Viewers as sent between processes (`[id, name, mode]` triples), or `ValueError`."""
    if not isinstance(raw, list):
        raise ValueError("viewers must be a list")
    viewers = []
    for item in raw:
        if not (
            isinstance(item, list)
            and len(item) == 3
            and isinstance(item[0], int)
            and isinstance(item[1], str)
            and item[2] in get_args(Mode)
        ):
            raise ValueError(f"not a viewer: {item!r:.100}")
        viewers.append(Viewer(item[0], item[1][:NAME_LIMIT], item[2]))
    return tuple(viewers)


def coalesce(changes: Iterable[Change]) -> list[Change]:
    """Merge runs of changes that differ only in their keys; split what is too long."""
    merged: list[Change] = []
    for change in changes:
        last = merged[-1] if merged else None
        if (
            last
            and (last.model, last.action, last.user, last.count)
            == (
                change.model,
                change.action,
                change.user,
                change.count,
            )
            and not change.count
        ):
            pks = tuple(dict.fromkeys(last.pks + change.pks))
            merged[-1] = replace(last, pks=pks, at=change.at)
        else:
            merged.append(change)
    return [part for change in merged for part in _split(change)]


def _split(change: Change) -> Iterator[Change]:
    if change.count and not change.pks:
        yield change  # an import: one message for all its rows
        return
    chunk: list[str] = []
    size = 0
    for pk in change.pks:
        if chunk and size + len(pk) + 3 > _PKS_BUDGET:
            yield replace(change, pks=tuple(chunk))
            chunk, size = [], 0
        chunk.append(pk)
        size += len(pk) + 3
    if chunk:
        yield replace(change, pks=tuple(chunk))


def pack(node: str, messages: Iterable[dict[str, Any]]) -> Iterator[str]:
    """NOTIFY payloads carrying `messages`, each under `MAX_PAYLOAD` bytes."""
    head = f'{{"node":{json.dumps(node)},"m":['
    budget = MAX_PAYLOAD - len(head.encode()) - 2
    batch: list[str] = []
    size = 0
    for message in messages:
        text = dumps(message)
        length = len(text.encode()) + 1
        if length > budget:
            log.warning("live: dropped a message too large to send: %.120s", text)
            continue
        if batch and size + length > budget:
            yield head + ",".join(batch) + "]}"
            batch, size = [], 0
        batch.append(text)
        size += length
    if batch:
        yield head + ",".join(batch) + "]}"


def unpack(payload: str) -> tuple[str, list[dict[str, Any]]] | None:
    """The sending node and its messages, or None for a payload that is not ours."""
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    node, messages = data.get("node"), data.get("m")
    if not isinstance(node, str) or not isinstance(messages, list):
        return None
    return node, [m for m in messages if isinstance(m, dict)]
