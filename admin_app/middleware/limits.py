"""Request bodies: limited by kind, and read in full before the app sees the request.

Forms are small (`max_form`), uploads may be larger (`max_upload`); over the limit
gets 413. The whole body is read first, as nginx's request buffering does: a client
that trickles its body, or stops halfway, then holds a socket and nothing else. Read
lazily, the body was awaited after the session had been loaded from the database,
and a few hundred half-sent signed-in POSTs held every pooled connection (found by
`tests/stress/test_slow_clients.py`). starlette-admin's CSRF check reads whole
bodies into memory anyway, so buffering costs no memory it did not already.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware.body_limit import RequestBodyLimitResponder
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FORM_FIELDS = 4000
"""Fields a form may post (Starlette's default is 1000): an order of 500 lines edited in
its form sends some 3,000. The body's size (`max_form`) still bounds the parsing work."""


class BodyLimitMiddleware:
    """`max_upload` for multipart bodies, `max_form` for everything else; read before the app."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_form: int,
        max_upload: int,
        streamed: str | None = None,
        max_streamed: int = 0,
    ) -> None:
        self.app = app
        self.max_form = max_form
        self.max_upload = max_upload
        self.streamed = streamed
        """A path prefix whose bodies go to the app as they arrive, up to `max_streamed`
        bytes (import files, written straight to disk; the route sends the CSRF token
        in a header, so nothing reads the body before it)."""
        self.max_streamed = max_streamed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.streamed and scope["path"].startswith(self.streamed):
            await RequestBodyLimitResponder(self.app, self.max_streamed)(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if not _has_body(headers):
            await self.app(scope, receive, send)  # nothing to limit, or to read first
            return
        limit = (
            self.max_upload
            if headers.get("content-type", "").startswith("multipart/")
            else self.max_form
        )
        await RequestBodyLimitResponder(self._read_body_first, limit)(scope, receive, send)

    async def _read_body_first(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await read_body(receive)  # over the limit, this raises and becomes a 413
        if body is None:
            return  # the client left before finishing its request: no one to answer
        await self.app(scope, replay(body, receive), send)


def _has_body(headers: Headers) -> bool:
    return headers.get("content-length", "0") not in ("", "0") or "transfer-encoding" in headers


async def read_body(receive: Receive) -> bytes | None:
    """The whole request body from `receive`, or None if the client disconnected first."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the whole body at once, then passes on (disconnects)."""
    given = False

    async def replayed() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed
