"""Security headers on every response, and the per-request CSP nonce."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from admin_app.templating import new_nonce

HSTS = "max-age=63072000; includeSubDomains"

NOT_STORED = ("text/html", "application/json", "text/csv", "application/vnd.openxmlformats")
"""Content types of pages and data: never kept by browsers or proxies (`no-store`), so
after logout the Back button cannot show the last customer list from the cache, and
a shared proxy never holds an export. Static assets keep their own caching."""


def content_security_policy(nonce: str) -> str:
    """Scripts only from our origin or carrying this request's nonce; no framing, no plugins."""
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
            "frame-ancestors 'none'",
        ]
    )


class SecurityHeadersMiddleware:
    """Adds CSP, framing, sniffing, referrer and caching policies (HSTS over HTTPS only)."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = new_nonce()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                # A route may set a stricter policy of its own (uploaded files do).
                headers.setdefault("Content-Security-Policy", content_security_policy(nonce))
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
                headers.setdefault(
                    "Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"
                )
                if self.hsts:
                    headers.setdefault("Strict-Transport-Security", HSTS)
                if headers.get("content-type", "").startswith(NOT_STORED):
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)
