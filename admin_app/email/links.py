"""Absolute links for emails: from `PUBLIC_URL`, or else from the request being served.

Without `PUBLIC_URL` the link takes the request's scheme and host name, which
`HostCheckMiddleware` has already checked against `ALLOWED_HOSTS`, and the port the
app itself listens on: never the port a client wrote in its Host header, which would
send a reset link to `localhost:9999`. Set `PUBLIC_URL` in production (`check --deploy`
says so) so links never depend on the request at all.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from admin_app.settings import Settings


def base_url(settings: Settings, request: Request | None) -> str | None:
    """Where the app is reached, without a trailing slash; None when nothing says."""
    if settings.public_url:
        return settings.public_url
    if request is None:
        return None
    scheme, host = request.url.scheme, request.url.hostname or "localhost"
    server = request.scope.get("server")
    port = server[1] if server else None
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    default = {"http": 80, "https": 443, "ws": 80, "wss": 443}.get(scheme)
    netloc = host if port in (None, default) else f"{host}:{port}"
    root = request.scope.get("app_root_path", request.scope.get("root_path", ""))
    return f"{scheme}://{netloc}{root}".rstrip("/")


def link(settings: Settings, request: Request | None, route: str, **params: Any) -> str | None:
    """The absolute URL of admin route `route` (such as `password-reset`), or None.

    Without a request (the CLI) only parameterless routes can be linked, from `PUBLIC_URL`.
    """
    base = base_url(settings, request)
    if base is None:
        return None
    if request is None:
        return f"{base}/admin/{route}" if not params else None
    return base + request.url_for(f"admin:{route}", **params).path
