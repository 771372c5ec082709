"""starlette-admin's `AuthProvider`, backed by accounts and sessions in the database."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette_admin.auth import AdminUser as AdminIdentity
from starlette_admin.auth import AuthProvider
from starlette_admin.exceptions import LoginFailed
from starlette_admin.helpers import index_url, safe_redirect_url
from starlette_admin.security.csrf import CSRFMiddleware

from admin_app.audit.context import Actor, set_actor, visitor
from admin_app.audit.events import record_event, record_event_now
from admin_app.auth import second_factor, throttle
from admin_app.auth.identity import Identity, client_ip, load_current_user, remember
from admin_app.auth.passwords import needs_rehash, verify_password_async
from admin_app.auth.sessions import (
    Device,
    Timeouts,
    load_session,
    revoke_session,
    session_id,
    start_session,
)
from admin_app.auth.users import (
    get_user_by_email,
    normalize_email,
    stamp_login,
    upgrade_password_hash,
)
from admin_app.email.notices import notify_login_from_new_ip
from admin_app.models import AdminUser
from admin_app.observability.metrics import get_metrics
from admin_app.settings import Settings
from admin_app.state import get_session, get_sessionmaker

LOGIN_FAILED = "Invalid email or password."
"""The only thing a failed login ever says: nothing about which part was wrong."""

SSO_ONLY_FAILED = (
    "Password sign-in is only for the emergency administrator account, and that email or "
    "password is not right. Everyone else: use Sign in with {name}."
)
"""What a failed password login says under `SSO_ONLY`, whichever part was wrong."""

SESSION_KEY = "sid"


class DatabaseAuthProvider(AuthProvider):
    """Email and password login, throttled, with sessions that end for real."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(login_path="/login", logout_path="/logout")
        self.settings = settings
        self.timeouts = Timeouts.from_settings(settings)
        self.limits = throttle.Limits.from_settings(settings)

    async def login(
        self, username: str, password: str, remember_me: bool, request: Request
    ) -> Response | None:
        """Check the credentials and start a fresh session, or fail with one generic message."""
        # The login page shows the address again after a failure (templates/admin/login.html).
        request.state.login_email = username[:254]
        email = normalize_email(username)
        if not email or not password:
            raise LoginFailed(self.failed)
        if self.settings.sso_only and not self._break_glass(email):
            await record_event_now(
                get_sessionmaker(request),
                "login_failed",
                user=None,
                ip=client_ip(request),
                note=f"{email}: password sign-in is off (SSO_ONLY)",
            )
            raise LoginFailed(self.failed)
        sessions = get_sessionmaker(request)
        ip = client_ip(request)
        if not await throttle.begin_attempt(sessions, email.lower(), ip, self.limits):
            get_metrics(request).login_lockouts.inc()
            await record_event_now(
                sessions, "login_failed", user=None, ip=ip, note=f"{email}: locked"
            )
            raise LoginFailed(self.failed)
        db = get_session(request)
        user = await get_user_by_email(db, email)
        # Give the connection back while the hash is checked: verifications queue for
        # the worker threads, and 200 logins waiting there held the whole pool (503s).
        await db.commit()
        get_metrics(request).password_verifications.labels("login").inc()
        valid = await verify_password_async(user.password_hash if user else None, password)
        # Under SSO_ONLY, only the break-glass account, and only while a superuser.
        allowed = not self.settings.sso_only or (user is not None and user.is_superuser)
        if user is None or not valid or not user.is_active or not allowed:
            get_metrics(request).login_failures.inc()
            await record_event_now(sessions, "login_failed", user=user, ip=ip, note=email)
            raise LoginFailed(self.failed)
        await throttle.attempt_succeeded(sessions, email.lower())
        if needs_rehash(user.password_hash):
            await upgrade_password_hash(db, user, password)
        if user.has_2fa:
            # The password is right, but no session until the second factor is too.
            return second_factor.ask_for_code(request, user, self.settings)
        return await self.complete_login(request, db, user)

    @property
    def failed(self) -> str:
        """What any failed password login says."""
        if self.settings.sso_only:
            return SSO_ONLY_FAILED.format(name=self.settings.oidc_provider_name)
        return LOGIN_FAILED

    def _break_glass(self, email: str) -> bool:
        wanted = self.settings.sso_break_glass_email
        return bool(wanted) and normalize_email(wanted).lower() == email.lower()

    async def complete_login(
        self, request: Request, db: AsyncSession, user: AdminUser, *, method: str = "password"
    ) -> Response:
        """Every factor checked: start the session, log it (with how: `password` or
        `sso`), and go where the user was headed."""
        ip = client_ip(request)
        set_actor(Actor(user.id, user.email, ip))
        await self._begin_session(request, db, user)
        await record_event(db, "login", user=user, ip=ip, method=method)
        await notify_login_from_new_ip(request, user)
        return self._after_login_redirect(request)

    async def _begin_session(self, request: Request, db: AsyncSession, user: AdminUser) -> None:
        previous = request.session.get(SESSION_KEY)
        if isinstance(previous, str):
            await revoke_session(db, session_id(previous))
        device = Device(ip=client_ip(request), user_agent=request.headers.get("user-agent", ""))
        token = await start_session(db, user, device, self.timeouts)
        await stamp_login(db, user)
        request.session.clear()  # a new session id at every login: no fixation
        request.session[SESSION_KEY] = token
        remember(request, Identity.of(user))

    @staticmethod
    def _after_login_redirect(request: Request) -> Response:
        fallback = index_url(request)
        wanted = request.query_params.get("next") or getattr(request.state, "login_next", None)
        target = safe_redirect_url(wanted or fallback, request, fallback)
        response = RedirectResponse(target, status_code=303)
        # A CSRF token issued before login is not carried into the session.
        response.delete_cookie(CSRFMiddleware.cookie_name)
        return response

    async def logout(self, request: Request) -> Response | None:
        """End the session in the database, then forget the cookie."""
        token = request.session.get(SESSION_KEY)
        if isinstance(token, str):
            await revoke_session(get_session(request), session_id(token))
            await record_event(
                get_session(request),
                "logout",
                user=await load_current_user(request),
                ip=client_ip(request),
            )
        request.session.clear()
        return RedirectResponse(request.url_for("admin:login"), status_code=303)

    async def authenticate(self, request: Request) -> AdminIdentity | None:
        """The identity for the layout, when the cookie names a live session.

        Also says who acts in this request for the audit log: the session's user, or an
        anonymous visitor at this address (never the process's own actor).
        """
        set_actor(visitor(client_ip(request)))
        token = request.session.get(SESSION_KEY)
        if not isinstance(token, str):
            return None
        found = await load_session(get_session(request), token, self.timeouts)
        if found is None:
            request.session.clear()
            return None
        user = found.user
        remember(request, user)
        request.state.admin_session_id = found.id
        request.state.grants = found.grants
        set_actor(Actor(user.id, user.email, client_ip(request)))
        return AdminIdentity(username=user.display_name)
