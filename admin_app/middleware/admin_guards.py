"""starlette-admin's flash, CSRF, login and time zone middleware, as lean plain ASGI.

starlette-admin 1.0 writes all three as `BaseHTTPMiddleware`: each request through the
admin starts three task groups and three memory streams, and copies every response
through them (15% of a list page's CPU, docs/big-tables.md). These do the same
checks in the same order with the same cookies, state and answers, without those.

- `FlashMiddleware`: `request.state.admin_flash_*` for `flash()` and
  `get_flashed_messages()`; the signed `starlette_admin_flash` cookie is set or
  cleared on the response.
- `CSRFMiddleware`: the signed double-submit cookie. Unsafe methods must send the
  token in `X-CSRFToken` or the `csrftoken` form field; the body read to find it is
  replayed to the app.
- `LoginMiddleware`: the provider's `authenticate()`, then the request's language (the
  account's, else the browser's: `admin_app.languages.apply_locale`, in place of
  starlette-admin's cookie-or-header `LocaleMiddleware`); anonymous requests reach only
  the allowed routes (login, static, `@login_not_required`), others go to the login
  page. The admin's static files need no login (and so no database query), and a
  `gate` given at wiring time may turn a signed-in request away (with `REQUIRE_2FA`,
  a superuser without two-factor login can reach only enrollment: `admin_app.admin.site`).
- `TimezoneMiddleware`: the display time zone from the `timezone` cookie, else the
  configured default. starlette-admin's parses every cookie of every request for it
  and logs a debug line each time; this one looks only when the cookie is there.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from itsdangerous import BadSignature, URLSafeSerializer
from starlette.requests import ClientDisconnect, HTTPConnection, Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette_admin.auth import AdminUser
from starlette_admin.cookies import SignedCookie
from starlette_admin.i18n import TimezoneConfig, set_database_timezone, set_timezone
from starlette_admin.security.csrf import CSRFMiddleware as StockCSRFMiddleware

from admin_app.admin.compat import is_login_exempt
from admin_app.languages import apply_locale
from admin_app.middleware.limits import FORM_FIELDS, read_body, replay

if TYPE_CHECKING:
    from starlette_admin.auth import BaseAuthProvider

log = logging.getLogger(__name__)

FLASH_COOKIE = "starlette_admin_flash"
FLASH_MAX_AGE = 300
CSRF_COOKIE = StockCSRFMiddleware.cookie_name  # the same cookie: its templates read it
CSRF_HEADER = "x-csrftoken"
CSRF_FIELD = "csrftoken"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
Gate = Callable[[Request], Response | None]
"""Asked about each signed-in request: a response to send instead, or None to go on."""
VERIFIED_KEPT = 4096
"""CSRF cookies remembered as verified, per process (about 1 MB when full)."""


def _add_cookies(start: Message, cookies: Response) -> None:
    """Add the Set-Cookie headers of `cookies` to a response's start message."""
    extra = [(k, v) for k, v in cookies.raw_headers if k == b"set-cookie"]
    start["headers"] = [*start.get("headers", []), *extra]


def _with_cookies(send: Send, cookies: Response) -> Send:
    """`send`, adding the Set-Cookie headers of `cookies` to the response's start."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            _add_cookies(message, cookies)
        await send(message)

    return sending


class FlashMiddleware:
    """Flash messages in a signed cookie (starlette-admin's `FlashMiddleware`).

    One difference: the cookie is cleared only when the request sent one. starlette-admin
    clears it on every page that could show messages, an extra Set-Cookie header on
    nearly every response."""

    def __init__(self, app: ASGIApp, secret_key: str | list[str]) -> None:
        self.app = app
        self.cookie = SignedCookie(
            secret_key,  # type: ignore[arg-type]  # itsdangerous takes a list of keys too
            salt="starlette-admin-flash",
            timed=True,
            max_age=FLASH_MAX_AGE,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state["admin_flash_cookie"] = self.cookie
        state["admin_flash_pending"] = []
        state["admin_flash_consumed"] = False

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                pending = state.get("admin_flash_pending") or []
                consumed = state.get("admin_flash_consumed")
                if pending or (consumed and FLASH_COOKIE in HTTPConnection(scope).cookies):
                    cookies = Response()
                    if pending:
                        cookies.set_cookie(
                            FLASH_COOKIE,
                            self.cookie.dumps(pending),
                            httponly=True,
                            samesite="lax",
                            max_age=FLASH_MAX_AGE,
                            secure=scope.get("scheme") == "https",
                        )
                    else:
                        cookies.delete_cookie(FLASH_COOKIE)
                    _add_cookies(message, cookies)
            await send(message)

        await self.app(scope, receive, sending)


class CSRFMiddleware:
    """Double-submit CSRF tokens in a signed cookie (starlette-admin's `CSRFMiddleware`)."""

    def __init__(self, app: ASGIApp, secret_key: str | list[str]) -> None:
        """`secret_key`: one key, or every accepted key with the current one last."""
        self.app = app
        self.signer = URLSafeSerializer(secret_key, salt="starlette-admin-csrf")
        # Signed token -> token, for the tokens that verified. A browser sends the same
        # cookie on every request, and verifying it (a new signer, its keys, an HMAC)
        # was 3% of a list page's CPU; the answer depends on the value alone.
        self._verified: dict[str, Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        token: str | None = None
        signed = request.cookies.get(CSRF_COOKIE)
        if signed:
            token = self._loads(signed)
        fresh = not isinstance(token, str) or not token
        if fresh:
            token = secrets.token_hex(32)
            signed = self.signer.dumps(token)
        assert token is not None
        assert signed is not None
        request.state.csrf_token = signed  # the cookie's own value: signing is deterministic

        if request.method not in SAFE_METHODS:
            receive, submitted = await self._submitted(request)
            refusal = self._refusal(token, submitted)
            if refusal is not None:
                log.warning("CSRF check refused %s %s: %s", request.method, scope["path"], refusal)
                await PlainTextResponse(refusal, status_code=403)(scope, receive, send)
                return

        if fresh:
            cookies = Response()
            cookies.set_cookie(
                CSRF_COOKIE,
                signed,
                httponly=False,  # the admin's scripts read it for X-CSRFToken
                samesite="lax",
                secure=scope.get("scheme") == "https",
            )
            send = _with_cookies(send, cookies)
        await self.app(scope, receive, send)

    def _refusal(self, token: str, submitted: str | None) -> str | None:
        if not submitted:
            return "CSRF token missing"
        value = self._loads(submitted)
        if not isinstance(value, str) or not hmac.compare_digest(value, token):
            return "CSRF token invalid"
        return None

    def _loads(self, signed: str) -> Any:
        """What `signed` carries, or None when its signature does not verify."""
        value = self._verified.get(signed)
        if value is not None:
            return value
        try:
            value = self.signer.loads(signed)
        except BadSignature:
            return None
        if len(self._verified) >= VERIFIED_KEPT:
            self._verified.clear()
        self._verified[signed] = value
        return value

    @staticmethod
    async def _submitted(request: Request) -> tuple[Receive, str | None]:
        """The token the request sent, and a `receive` that gives the app the whole body."""
        header = request.headers.get(CSRF_HEADER)
        if header is not None:
            return request.receive, header
        content_type = request.headers.get("content-type", "")
        if not any(kind in content_type for kind in FORM_TYPES):
            return request.receive, None
        body = await read_body(request.receive)
        if body is None:
            raise ClientDisconnect
        form = await Request(request.scope, replay(body, request.receive)).form(
            max_fields=FORM_FIELDS
        )
        try:
            return replay(body, request.receive), str(form.get(CSRF_FIELD) or "")
        finally:
            await form.close()


class LoginMiddleware:
    """The login check (starlette-admin's `AuthMiddleware`), plus two rules of ours:
    static files need no login, and `gate` may turn a signed-in request away."""

    def __init__(self, app: ASGIApp, provider: BaseAuthProvider, gate: Gate | None = None) -> None:
        self.app = app
        self.provider = provider
        self.gate = gate
        self.allow_routes = {"login", "static", *provider.allow_routes}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        if scope["path"].startswith(scope.get("root_path", "") + "/static/"):
            await self.app(scope, receive, send)
            return
        user = await self.provider.authenticate(request)
        apply_locale(request)
        if user is not None:
            if not isinstance(user, AdminUser):
                raise TypeError(f"authenticate() must return an AdminUser, not {type(user)}")
            request.state.admin_user = user
            request.state.is_anonymous = False
            refusal = self.gate(request) if self.gate is not None else None
            if refusal is not None:
                await refusal(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        request.state.is_anonymous = True
        if self._allowed_anonymously(scope):
            await self.app(scope, receive, send)
            return
        login = request.url_for(request.app.state.ROUTE_NAME + ":login")
        target = f"{login}?{urlencode({'next': str(request.url)})}"
        await RedirectResponse(target, status_code=303)(scope, receive, send)

    def _allowed_anonymously(self, scope: Scope) -> bool:
        for route in scope["app"].routes:
            match, _ = route.matches(scope)
            if match == Match.FULL:
                endpoint: Any = getattr(route, "endpoint", None)
                return route.name in self.allow_routes or is_login_exempt(endpoint)
        return False


class TimezoneMiddleware:
    """The request's display time zone (starlette-admin's `TimezoneMiddleware`)."""

    def __init__(self, app: ASGIApp, timezone_config: TimezoneConfig) -> None:
        self.app = app
        self.config = timezone_config
        name = timezone_config.timezone_cookie_name
        self.mark = f"{name}=".encode("latin-1") if name else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        chosen = None
        if self.mark is not None and any(
            key == b"cookie" and self.mark in value for key, value in scope.get("headers", ())
        ):
            chosen = HTTPConnection(scope).cookies.get(self.config.timezone_cookie_name or "")
        set_timezone(chosen or self.config.default_timezone)
        set_database_timezone(self.config.database_timezone)
        await self.app(scope, receive, send)
