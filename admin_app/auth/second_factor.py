"""The second step of login, for accounts with two-factor login, and enforced enrollment.

Between the password and the code, the browser holds only a short-lived signed
token (its own cookie, five minutes, bound to the password version) naming the
account; no session exists until the code is right. Codes are throttled per account
like passwords are.
"""

from __future__ import annotations

from typing import Any, Protocol

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from admin_app.audit.events import record_event_now
from admin_app.auth import throttle, totp
from admin_app.auth.identity import client_ip, current_identity
from admin_app.models import AdminUser
from admin_app.settings import Settings
from admin_app.state import get_session, get_sessionmaker, get_settings

PENDING_COOKIE = "admin_2fa"
PENDING_SECONDS = 300
CODE_FAILED = "That code is not valid. Try the current code from your app, or a recovery code."
UNREADABLE = (
    "Your two-factor login cannot be checked: it was set up under a server key that is no "
    "longer configured. Use a recovery code, or ask an administrator to reset your "
    "two-factor login (Admin users, Reset two-factor login), then set it up again."
)
ENROLLMENT_PATHS = ("/account", "/logout", "/login")
PROVIDER_MFA_KEY = "mfa_at_provider"
"""Set in the login session when the single sign-on provider says it checked a second
factor (`OIDC_MFA_AMR`): `REQUIRE_2FA` is then met without the app's own."""


class Login(Protocol):
    """What the code step needs of the auth provider (`DatabaseAuthProvider`)."""

    @property
    def limits(self) -> throttle.Limits: ...

    async def complete_login(
        self, request: Request, db: AsyncSession, user: AdminUser, *, method: str = "password"
    ) -> Response: ...


def _signer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_keys, salt="admin-second-factor")


def ask_for_code(
    request: Request, user: AdminUser, settings: Settings, *, method: str = "password"
) -> Response:
    """After a right password (or single sign-on, `method`): remember who, for five
    minutes, and ask for the code."""
    token = _signer(settings).dumps(
        {
            "uid": user.id,
            "pwc": user.password_changed_at.isoformat(),
            "next": request.query_params.get("next", "")
            or getattr(request.state, "login_next", None)
            or "",
            "method": method,
        }
    )
    response = RedirectResponse(request.url_for("admin:login-2fa"), status_code=303)
    response.set_cookie(
        PENDING_COOKIE,
        token,
        max_age=PENDING_SECONDS,
        path="/admin",
        httponly=True,
        samesite="lax",
        secure=settings.https_only,
    )
    return response


async def _pending_user(request: Request) -> tuple[AdminUser, dict[str, Any]] | None:
    try:
        data = _signer(get_settings(request)).loads(
            request.cookies.get(PENDING_COOKIE, ""), max_age=PENDING_SECONDS
        )
    except BadSignature:
        return None
    user = await get_session(request).get(AdminUser, int(data["uid"]))
    if user is None or not user.is_active or not user.has_2fa:
        return None
    if user.password_changed_at.isoformat() != data["pwc"]:
        return None
    return user, data


async def handle(request: Request, provider: Login, templates: Jinja2Templates) -> Response:
    """`GET|POST /admin/login/2fa`: the code form, and its check."""
    pending = await _pending_user(request)
    if pending is None:
        return RedirectResponse(request.url_for("admin:login"), status_code=303)
    user, data = pending
    if request.method == "GET":
        return _form(request, templates)
    code = str((await request.form()).get("code") or "").strip()
    refused = await _check(request, provider, user, code)
    if refused is not None:
        return _form(request, templates, error=refused, status_code=400)
    request.state.login_next = data.get("next") or None
    method = str(data.get("method") or "password")
    response = await provider.complete_login(request, get_session(request), user, method=method)
    response.delete_cookie(PENDING_COOKIE, path="/admin")
    return response


async def _check(request: Request, provider: Login, user: AdminUser, code: str) -> str | None:
    """None when `code` is right (a TOTP code or an unused recovery code), else why not."""
    sessions = get_sessionmaker(request)
    account = f"2fa:{user.email.lower()}"
    ip = client_ip(request)
    if not await throttle.begin_attempt(sessions, account, ip, provider.limits):
        await record_event_now(sessions, "login_failed", user=user, ip=ip, note="2fa locked")
        return CODE_FAILED
    settings = get_settings(request)
    secret = totp.readable_secret(settings, user)
    ok = (secret is not None and totp.accept_totp(user, code, secret)) or (
        await totp.use_recovery_code(get_session(request), user, code, settings.secret_keys)
    )
    if not ok:
        note = "wrong 2fa code" if secret is not None else "2fa secret under no configured key"
        await record_event_now(sessions, "login_failed", user=user, ip=ip, note=note)
        return CODE_FAILED if secret is not None else UNREADABLE
    if secret is not None and totp.needs_sealing(settings, str(user.totp_secret)):
        user.totp_secret = totp.seal(settings, secret)  # plain text, or a retiring key
    await throttle.attempt_succeeded(sessions, account)
    return None


def _form(
    request: Request, templates: Jinja2Templates, error: str | None = None, status_code: int = 200
) -> Response:
    return templates.TemplateResponse(
        request, "login_2fa.html", {"error": error}, status_code=status_code
    )


def enrollment_redirect(request: Request) -> Response | None:
    """With `REQUIRE_2FA`, send a superuser without two-factor login to enrollment."""
    me = current_identity(request)
    if me is None or not me.is_superuser or me.has_2fa or not get_settings(request).require_2fa:
        return None
    if request.session.get(PROVIDER_MFA_KEY) is True:
        return None
    path = request.url.path.removeprefix(request.scope.get("root_path", ""))
    if path.startswith(ENROLLMENT_PATHS):
        return None
    return RedirectResponse(request.url_for("admin:account-2fa-setup"), status_code=303)
