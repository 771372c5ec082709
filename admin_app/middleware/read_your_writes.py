"""Read-your-writes with read replicas: a successful write leaves a cookie behind.

Any request but GET, HEAD and OPTIONS that ends below 400 (a saved form's redirect, a
delete, an action) gets the `admin_app.replicas.sticky` cookie, so for
`REPLICA_STICKY_SECONDS` that browser's read-only requests read from the primary and
show what it has just written, however far the replicas are behind. Installed only
when `DATABASE_REPLICA_URLS` is set; outside the database middleware, so a commit that
fails (and turns into an error page) leaves no cookie.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from admin_app.replicas.sticky import StickyReads

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ReadYourWritesMiddleware:
    """Set the read-your-writes cookie on every successful write."""

    def __init__(self, app: ASGIApp, sticky: StickyReads) -> None:
        self.app = app
        self.sticky = sticky

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                headers = MutableHeaders(scope=message)
                headers.append("set-cookie", self.sticky.set_cookie_header().decode("latin-1"))
            await send(message)

        await self.app(scope, receive, send_wrapper)
