"""gzip for clients that ask for it; everyone else gets the response untouched.

Starlette's `GZipMiddleware` puts every response to a client that does not accept
gzip through an `IdentityResponder` (a new object, its content types normalized
again, the response's headers parsed and held back until the first body) only to add
`Vary: Accept-Encoding`: about 2% of a list page's CPU for `wrk`, `curl`, probes and
API clients. Here such a response passes through, and the `Vary` header is added
where Starlette would add it: a response that gzip would have compressed (not
already encoded, not partial, not an excluded type, not known to be too small).
"""

from __future__ import annotations

from starlette.middleware.gzip import GZipMiddleware
from starlette.types import Message, Receive, Scope, Send


class CompressionMiddleware(GZipMiddleware):
    """`GZipMiddleware`, without its identity responder for clients that do not accept gzip."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _accepts_gzip(scope):
            await super().__call__(scope, receive, send)
            return

        async def send_with_vary(message: Message) -> None:
            if message["type"] == "http.response.start" and self._would_compress(message):
                message["headers"] = _with_vary(list(message.get("headers", ())))
            await send(message)

        await self.app(scope, receive, send_with_vary)

    def _would_compress(self, start: Message) -> bool:
        if start["status"] == 206:
            return False
        for name, value in start.get("headers", ()):
            name = name.lower()
            if name == b"content-encoding":
                return False
            if name == b"content-length" and int(value) < self.minimum_size:
                return False
            if name == b"content-type":
                media = value.decode("latin-1").partition(";")[0].strip().lower()
                kinds = {media, media.partition("/")[0] + "/*"}
                if media.startswith("application/grpc+"):
                    kinds.add("application/grpc")
                if not kinds.isdisjoint(self.exclude_content_types):
                    return False
        return True


def _accepts_gzip(scope: Scope) -> bool:
    return any(name == b"accept-encoding" and b"gzip" in value for name, value in scope["headers"])


def _with_vary(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """`headers` with `Accept-Encoding` added to its `Vary` (as Starlette's `add_vary_header`)."""
    for i, (name, value) in enumerate(headers):
        if name.lower() == b"vary":
            headers[i] = (name, value + b", Accept-Encoding")
            return headers
    headers.append((b"vary", b"Accept-Encoding"))
    return headers
