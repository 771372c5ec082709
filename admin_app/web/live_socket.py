"""One open `/admin/ws` connection: a writer draining its queue, a reader taking its page.

The browser sends one kind of message, whenever its page changes:
`{"type": "watch", "model": "product", "pk": "12", "mode": "editing"}`
(`pk` absent for a list page; `model` absent to watch nothing). Every message is
limited in size and rate and re-checks the login session (unless it was checked in the
last second, as it is when the connection opens). Anything malformed ends
the connection with an `error` message and close code 1008; asking for a model the
user may not see only gets the `error`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any, cast

from starlette.websockets import WebSocket, WebSocketDisconnect

from admin_app.live.hub import CLOSE_SESSION_ENDED, Closing, Page
from admin_app.live.identity import Identity
from admin_app.live.messages import dumps
from admin_app.live.service import LiveService

CLOSED_BY_CLIENT = 0
"""Internal close code: the client has gone, there is nothing to send."""

CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
MAX_MESSAGE = 1024
"""Characters per message from the browser; a watch needs about a hundred."""

RATE_LIMIT, RATE_WINDOW = 20, 10.0
"""Messages a connection may send per window of seconds (page changes are rare)."""

RECHECK_AFTER = 1.0
"""Seconds after a session check within which a message does not check again (the first
`watch` follows the connection's own check by milliseconds)."""

WATCH_HELP = (
    'Send {"type": "watch", "model": "<view key>", "pk": "<key or omitted>", '
    '"mode": "viewing" or "editing"}.'
)


class Refused(Exception):
    """A message the server will not act on; `fatal` ones end the connection."""

    def __init__(self, detail: str, *, fatal: bool = True, code: int = CLOSE_POLICY) -> None:
        super().__init__(detail)
        self.detail, self.fatal, self.code = detail, fatal, code


def parse_watch(text: str | None, models: frozenset[str]) -> Page | None:
    """The page a `watch` message names (None: nothing), or `Refused`."""
    if text is None or len(text) > MAX_MESSAGE:
        raise Refused(f"Messages are JSON text of at most {MAX_MESSAGE} characters.", code=1009)
    try:
        data: Any = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: "[[[[..." a thousand deep
        raise Refused("Messages must be JSON. " + WATCH_HELP) from None
    if not isinstance(data, dict) or data.get("type") != "watch":
        raise Refused("Only watch messages are understood. " + WATCH_HELP)
    model, pk, mode = data.get("model"), data.get("pk"), data.get("mode", "viewing")
    if model is None:
        return None
    if isinstance(pk, int) and not isinstance(pk, bool):
        pk = str(pk)
    valid_pk = pk is None or (isinstance(pk, str) and 0 < len(pk) <= 100)
    if not isinstance(model, str) or not valid_pk or mode not in ("viewing", "editing"):
        raise Refused("That watch message is malformed. " + WATCH_HELP)
    if model not in models:
        raise Refused(f"You cannot watch {model[:60]!r}.", fatal=False)
    return Page(model, cast(str | None, pk), mode)


class RateLimit:
    """At most `limit` events per `window` seconds (a sliding count over fixed windows)."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self.started, self.count = time.monotonic(), 0

    def allow(self) -> bool:
        now = time.monotonic()
        if now - self.started >= self.window:
            self.started, self.count = now, 0
        self.count += 1
        return self.count <= self.limit


class LiveSocket:
    """Runs one accepted connection until either side ends it."""

    def __init__(self, websocket: WebSocket, live: LiveService, identity: Identity) -> None:
        self.websocket = websocket
        self.live = live
        self.subscriber = live.connect(
            identity.user, identity.session_id, identity.models, grants=identity.grants
        )
        self.rate = RateLimit(RATE_LIMIT, RATE_WINDOW)
        self.checked_at = time.monotonic()

    async def run(self) -> None:
        self.subscriber.offer(dumps({"type": "hello", "user": self.subscriber.user.to_json()}))
        reader = asyncio.create_task(self._read())
        try:
            await self._write()
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            self.live.disconnect(self.subscriber)

    async def _write(self) -> None:
        while True:
            item = await self.subscriber.next()
            try:
                if isinstance(item, Closing):
                    await self._close(item)
                    return
                await self.websocket.send_text(item)
            except (WebSocketDisconnect, OSError, RuntimeError):
                return  # the client went away while we were sending

    async def _close(self, closing: Closing) -> None:
        if closing.code == CLOSED_BY_CLIENT:
            return
        if closing.reason:
            await self.websocket.send_text(dumps({"type": "error", "detail": closing.reason}))
        await self.websocket.close(
            closing.code, closing.reason.encode()[:120].decode(errors="ignore")
        )

    async def _read(self) -> None:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                self.subscriber.close(CLOSED_BY_CLIENT, "")
                return
            try:
                await self._handle(message.get("text"))
            except Refused as refused:
                if refused.fatal:
                    self.subscriber.close(refused.code, refused.detail)
                    return
                self.subscriber.offer(dumps({"type": "error", "detail": refused.detail}))

    async def _handle(self, text: str | None) -> None:
        if not self.rate.allow():
            raise Refused("Too many messages; reload the page to reconnect.")
        page = parse_watch(text, self.subscriber.models)
        await self._recheck_session()
        if page is not None and not await self._may_see(page):
            raise Refused(f"You cannot watch that {page.model[:60]}.", fatal=False)
        self.live.watch(self.subscriber, page)
        watching = {"model": page.model, "pk": page.pk} if page else None
        self.subscriber.offer(dumps({"type": "watching", "page": watching}))

    async def _may_see(self, page: Page) -> bool:
        """A record's page within the user's row scope (a list page always)."""
        return page.pk is None or await self.live.may_see(self.subscriber, page.model, page.pk)

    async def _recheck_session(self) -> None:
        if time.monotonic() - self.checked_at < RECHECK_AFTER:
            return
        if not await self.live.watcher.is_live(self.subscriber.session_id):
            raise Refused("Your session has ended. Sign in again.", code=CLOSE_SESSION_ENDED)
        self.checked_at = time.monotonic()
