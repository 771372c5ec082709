"""Redirect plain http to https when `HTTPS_ONLY`, except the probes and `/metrics`."""

from __future__ import annotations

from starlette.middleware.httpsredirect import HTTPSRedirectMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from admin_app.middleware.hosts import INTERNAL_PATHS


class HTTPSOnlyMiddleware:
    """Starlette's redirect, leaving probes and `/metrics` reachable over plain http."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.redirect = HTTPSRedirectMiddleware(app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in INTERNAL_PATHS:
            await self.app(scope, receive, send)
        else:
            await self.redirect(scope, receive, send)
