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
    """`TrustedHostMiddleware` for everything but the health probes.

    A Host header that Starlette's check let through is remembered (a deployment sees a
    few distinct ones), and later requests with it skip the check, which parses every
    header of every request."""

    def __init__(self, app: ASGIApp, allowed_hosts: Sequence[str]) -> None:
        self.app = app
        self.checked = TrustedHostMiddleware(self._passed, allowed_hosts=allowed_hosts)
        self.hosts: set[bytes] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._known(scope):
            await self.app(scope, receive, send)
        else:
            await self.checked(scope, receive, send)

    def _known(self, scope: Scope) -> bool:
        """A probe, or a Host that passed before."""
        kind = scope["type"]
        if kind == "http" and scope["path"] in INTERNAL_PATHS:
            return True
        return kind in ("http", "websocket") and _host(scope) in self.hosts

    async def _passed(self, scope: Scope, receive: Receive, send: Send) -> None:
        host = _host(scope) if scope["type"] in ("http", "websocket") else None
        if host is not None:
            if len(self.hosts) >= HOSTS_KEPT:
                self.hosts.clear()
            self.hosts.add(host)
        await self.app(scope, receive, send)


HOSTS_KEPT = 64
"""Distinct Host headers remembered as allowed, per process."""


def _host(scope: Scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == b"host":
            return bytes(value)
    return None
