"""Host header checking that leaves the health probes alone.

Load balancers and the kubelet probe a pod by its IP address, which is never in
`ALLOWED_HOSTS`; `/healthz` and `/readyz` reveal nothing host-specific, so they
answer whatever the Host, and so does `/metrics` (Prometheus scrapes pods by IP; it
checks its own token and address list). Every other path gets Starlette's check:
400 for a bad Host.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

PROBE_PATHS = frozenset({"/healthz", "/readyz"})
"""Health probes: the kubelet and load balancers call them by IP, over plain http."""

INTERNAL_PATHS = PROBE_PATHS | {"/metrics"}
"""Paths for infrastructure, answered whatever the Host; `/metrics` guards itself."""


class HostCheckMiddleware:
    """`TrustedHostMiddleware` for everything but the health probes."""

    def __init__(self, app: ASGIApp, allowed_hosts: Sequence[str]) -> None:
        self.app = app
        self.checked = TrustedHostMiddleware(app, allowed_hosts=allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in INTERNAL_PATHS:
            await self.app(scope, receive, send)
        else:
            await self.checked(scope, receive, send)
