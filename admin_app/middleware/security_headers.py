"""Security headers on every response, and the per-request CSP nonce."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from admin_app.templating import new_nonce

HSTS = "max-age=63072000; includeSubDomains"

NOT_STORED = ("text/html", "application/json", "text/csv", "application/vnd.openxmlformats")
"""Content types of pages and data: never kept by browsers or proxies (`no-store`), so
after logout the Back button cannot show the last customer list from the cache, and
a shared proxy never holds an export. Static assets keep their own caching."""


def content_security_policy(nonce: str, *, framable: bool = False) -> str:
    """Scripts only from our origin or carrying this request's nonce; no plugins; no
    framing, but by our own pages where `framable`."""
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            # starlette-admin's templates use style attributes throughout.
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'self'" if framable else "frame-ancestors 'none'",
        ]
    )


class SecurityHeadersMiddleware:
    """Adds CSP, framing, sniffing, referrer and caching policies (HSTS over HTTPS only).

    A header the route set itself is kept (uploaded files set a stricter policy). A page
    asked for a frame (`?frame=1`: a relation manager's list or form) may be framed by our
    own pages, and no others."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        fixed = {
            "x-frame-options": "DENY",
            "x-content-type-options": "nosniff",
            "referrer-policy": "same-origin",
            "cross-origin-opener-policy": "same-origin",
            "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
        }
        if hsts:
            fixed["strict-transport-security"] = HSTS
        self.fixed = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in fixed.items()]
        self.policy = _split(content_security_policy("\0"))
        self.framable = _split(content_security_policy("\0", framable=True))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = new_nonce()
        framable = FRAMED in scope["query_string"] and _framed(scope["query_string"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                message["headers"] = self._added(headers, nonce, framable)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _added(
        self, headers: list[tuple[bytes, bytes]], nonce: str, framable: bool
    ) -> list[tuple[bytes, bytes]]:
        present = {name.lower() for name, _ in headers}
        content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
        if b"content-security-policy" not in present:
            before, after = self.framable if framable else self.policy
            policy = before + nonce.encode("latin-1") + after
            headers.append((b"content-security-policy", policy))
        if framable and b"x-frame-options" not in present:
            headers.append((b"x-frame-options", b"SAMEORIGIN"))
            present.add(b"x-frame-options")
        headers += [(k, v) for k, v in self.fixed if k not in present]
        if b"cache-control" not in present and content_type.startswith(NOT_STORED_BYTES):
            headers.append((b"cache-control", b"no-store"))
        return headers


FRAMED = b"frame=1"
"""A query asking for a page for a frame (`admin_app.admin.relations.FRAME_PARAM`)."""


def _framed(query: bytes) -> bool:
    return ("frame", "1") in parse_qsl(query.decode("latin-1"))


def _split(policy: str) -> tuple[bytes, bytes]:
    """A policy made with the nonce `\0`, cut where the nonce goes."""
    before, after = policy.split("\0")
    return before.encode("latin-1"), after.encode("latin-1")


NOT_STORED_BYTES = tuple(kind.encode("latin-1") for kind in NOT_STORED)
