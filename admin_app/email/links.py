"""Absolute links for emails: from `PUBLIC_URL`, or else from the request being served.

The request's own URL is safe to fall back on because `HostCheckMiddleware` has
already refused a Host outside `ALLOWED_HOSTS`; set `PUBLIC_URL` in production so
links never depend on what a client sent.
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
    return str(request.base_url).rstrip("/")


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
