"""Request ids, the access log line and the request metrics, for every HTTP request.

Pure ASGI, so streamed responses pass through unbuffered and the duration covers the
whole body. It runs just inside `ProxyHeadersMiddleware` (the client address is the
real one) and outside everything else (a 400 for a bad Host is logged too).

Routes are labelled by their template (`/admin/{key}/list`), read from the route
Starlette matched (`scope["route"]`, the innermost one after mounts), never by the
raw path: ids and tokens stay out of the metrics and the logs, and the number of
series stays bounded.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from admin_app.middleware.hosts import PROBE_PATHS
from admin_app.observability.logs import (
    ACCESS_LOGGER,
    bind_request,
    unbind_request,
    write_access_line,
)
from admin_app.observability.metrics import Metrics
from admin_app.web.errors import HANDLED_ERROR, is_database_unavailable

access_log = logging.getLogger(ACCESS_LOGGER)

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/+=@-]{0,127}")
UNMATCHED = "unmatched"


def request_id_for(scope: Scope) -> str:
    """The client's `X-Request-ID` when it is short and plain, else a new random one."""
    incoming = Headers(scope=scope).get(REQUEST_ID_HEADER, "")
    if _SANE_REQUEST_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


def route_template(scope: Scope) -> str:
    """The matched route's path template, mount prefixes included; `unmatched` for none."""
    route = scope.get("route")
    if route is None:
        return UNMATCHED
    # After a Mount matched, root_path includes its prefix (and, for a Mount as the
    # final route, the Mount's own path).
    prefix = str(scope.get("root_path", "")).removeprefix(str(scope.get("app_root_path", "")))
    if isinstance(route, Mount):
        return prefix + "/{path}"
    return prefix + str(getattr(route, "path", ""))


def user_id(scope: Scope) -> Any:
    """The id of the logged-in account (set by the admin's auth provider), or None."""
    identity = scope.get("state", {}).get("identity")  # `admin_app.auth.identity.Identity`
    return getattr(identity, "id", None)


class ObservabilityMiddleware:
    """Give each request an id (returned as `X-Request-ID`), count it, time it, log it."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_for(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        tokens = bind_request(request_id)
        started = time.perf_counter()
        outcome = _Outcome(request_id)
        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, outcome.wrap(send))
        except Exception as error:
            if not self._already_answered(scope, outcome, error):
                outcome.status = 503 if is_database_unavailable(error) else 500
                raise
        finally:
            self.metrics.in_flight.dec()
            self._record(scope, outcome.status, time.perf_counter() - started)
            unbind_request(tokens)

    @staticmethod
    def _already_answered(scope: Scope, outcome: _Outcome, error: Exception) -> bool:
        # Starlette's error middleware (the admin has its own) sends the error page and
        # then re-raises for the server to log. Our handler has logged it already; one
        # more traceback from uvicorn per failed request would only be noise, and uvicorn
        # would also close the client's keep-alive connection under its next request.
        handled = scope.get("state", {}).get(HANDLED_ERROR)
        return outcome.finished and handled is not None and handled in _chain(error)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = route_template(scope)
        self.metrics.observe_request(scope["method"], route, status, seconds)
        if scope["path"] in PROBE_PATHS and status < 400:
            return  # probes come every few seconds; their failures are what matters
        client = scope.get("client")
        fields = {
            "method": scope["method"],
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "user_id": user_id(scope),
            "client": client[0] if client else None,
        }
        if not write_access_line("request", fields):
            access_log.info("request", extra=fields)


def _chain(error: BaseException) -> list[BaseException]:
    """`error` and the exceptions it was raised from or while handling."""
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


class _Outcome:
    """What was sent: the status, whether the body is complete; adds the request id header."""

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self.status = 500  # if nothing is ever sent, the server answers 500
        self.finished = False

    def wrap(self, send: Send) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = self.request_id
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                self.finished = True
            await send(message)

        return wrapped
