"""The client's address from a trusted proxy's `X-Forwarded-For`, only if it is one.

uvicorn's `ProxyHeadersMiddleware` takes the first untrusted entry of the chain as the
client, whatever it holds: `<script>` or 300 characters from a misbehaving proxy ended
up as a session's IP, or made a correct login fail with a 400. Here the chosen entry must
parse as an IP address; otherwise the connection's own address (the proxy's) stands,
and the first such value in each process is logged.
"""

from __future__ import annotations

import ipaddress
import logging

from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

log = logging.getLogger(__name__)
_PEER = "admin_app.peer"
"""Where the connection's own address waits while uvicorn's middleware looks at the headers."""


class ForwardedClientMiddleware:
    """`ProxyHeadersMiddleware`, keeping the peer address when the forwarded one is not an IP."""

    def __init__(self, app: ASGIApp, trusted_hosts: list[str] | str) -> None:
        self.app = app
        self.proxy = ProxyHeadersMiddleware(self._checked, trusted_hosts=trusted_hosts)  # type: ignore[arg-type]
        self.warned = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[_PEER] = scope.get("client")
        await self.proxy(scope, receive, send)  # type: ignore[arg-type]

    async def _checked(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        peer = scope.pop(_PEER, None)
        if client and client != peer and not _is_ip(client[0]):
            if not self.warned:
                self.warned = True
                log.warning(
                    "ignored a malformed X-Forwarded-For client address %r from proxy %s",
                    str(client[0])[:60],
                    peer[0] if peer else "?",
                )
            scope["client"] = peer
        await self.app(scope, receive, send)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
