"""My account: change password, two-factor login, the colour theme, and the sessions where
I am logged in."""

from __future__ import annotations

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette_admin.i18n import gettext
from starlette_admin.routing import route

from admin_app.admin.api_token_pages import ApiTokenPages
from admin_app.admin.devices import device_name
from admin_app.admin.labels import N_
from admin_app.admin.theme import THEME_LABELS, parse_theme
from admin_app.audit.events import record_event
from admin_app.auth import throttle, totp
from admin_app.auth.identity import client_ip
from admin_app.auth.passwords import PasswordPolicyError, verify_password_async
from admin_app.auth.sessions import revoke_session, revoke_user_sessions
from admin_app.auth.users import pending_totp_secret, set_password
from admin_app.db import utcnow
from admin_app.languages import LANGUAGES, language, parse_locale
from admin_app.models import AdminSession, AdminUser
from admin_app.observability.metrics import get_metrics
from admin_app.state import get_session, get_sessionmaker, get_settings
from admin_app.web.errors import wants_json


class AccountView(ApiTokenPages):
    """Every logged-in user's own page; nothing here needs a permission beyond logging in."""

    def __init__(self) -> None:
        super().__init__(
            menu_label=N_("My account"),
            icon="fa fa-user-gear",
            path="/account",
            route_name="account",
        )

    @route("")
    async def index(self, request: Request) -> Response:
        user = await self._me(request)
        db = get_session(request)
        live = (
            select(AdminSession)
            .where(
                AdminSession.user_id == user.id,
                AdminSession.revoked_at.is_(None),
                AdminSession.expires_at > utcnow(),
            )
            .order_by(AdminSession.last_seen_at.desc())
        )
        return self._render(
            request,
            "account.html",
            user=user,
            sessions=(await db.scalars(live)).all(),
            current_session=getattr(request.state, "admin_session_id", None),
            recovery_left=await totp.remaining_recovery_codes(db, user),
            required=_required(request, user),
            **await self.token_context(request, user),
        )

    @route("/password", methods=["POST"], name="account-password")
    async def change_password(self, request: Request) -> Response:
        user = await self._me(request)
        form = await request.form()
        new = str(form.get("new_password") or "")
        current = str(form.get("current_password") or "")
        refused = await check_password(
            request, user, current, gettext("Your current password is not right.")
        )
        if refused:
            return self._back(request, refused, "error")
        if new != str(form.get("new_password_confirm") or ""):
            return self._back(request, gettext("The two new passwords differ."), "error")
        try:
            ended = await set_password(
                session=get_session(request),
                user=user,
                password=new,
                keep_session=getattr(request.state, "admin_session_id", None),
            )
        except PasswordPolicyError as error:
            return self._back(request, str(error), "error")
        return self._back(
            request,
            gettext("Password changed. %(count)s other session(s) were logged out.")
            % {"count": ended},
        )

    @route("/theme", methods=["POST"], name="account-theme")
    async def set_theme(self, request: Request) -> Response:
        """Keep the chosen theme on the account (an audited change of the account, like
        any other), then go back to the page it was chosen on; a script asking for JSON
        gets the choice back and shows it at once."""
        user = await self._me(request)
        theme = parse_theme((await request.form()).get("theme"))
        if theme is None:
            refused = gettext("Choose a theme: Auto, Light or Dark.")
            if wants_json(request):
                return JSONResponse({"error": refused}, status_code=400)
            return self._back(request, refused, "error")
        if user.theme != theme:
            user.theme = theme
            await get_session(request).flush()
        if wants_json(request):
            return JSONResponse({"theme": theme, "label": str(THEME_LABELS[theme])})
        return RedirectResponse(_came_from(request), status_code=303)

    @route("/language", methods=["POST"], name="account-language")
    async def set_language(self, request: Request) -> Response:
        """Keep the chosen language on the account (audited like any change of it), then
        go back to the page it was chosen on, now in that language."""
        user = await self._me(request)
        locale = parse_locale((await request.form()).get("locale"))
        if locale is None:
            names = ", ".join(language(code).name for code in LANGUAGES)
            return self._back(
                request, gettext("Choose a language: %(names)s.") % {"names": names}, "error"
            )
        if user.locale != locale:
            user.locale = locale
            await get_session(request).flush()
        return RedirectResponse(_came_from(request), status_code=303)

    @route("/sessions/revoke", methods=["POST"], name="account-sessions-revoke")
    async def revoke(self, request: Request) -> Response:
        user = await self._me(request)
        db = get_session(request)
        target = str((await request.form()).get("session") or "")
        current = getattr(request.state, "admin_session_id", None)
        if target == "others":
            ended = await revoke_user_sessions(db, user.id, keep=current)
            await record_event(db, "session_revoked", user=user, note=f"{ended} other sessions")
            return self._back(
                request, gettext("Logged out of %(count)s other session(s).") % {"count": ended}
            )
        record = await db.get(AdminSession, target)
        if record is None or record.user_id != user.id or record.id == current:
            return self._back(
                request, gettext("That session is not one you can end here."), "error"
            )
        await revoke_session(db, record.id)
        await record_event(
            db, "session_revoked", user=user, note=f"{device_name(record.user_agent)}, {record.ip}"
        )
        return self._back(request, gettext("That session was logged out."))

    @route("/2fa/setup", name="account-2fa-setup")
    async def setup_2fa(self, request: Request) -> Response:
        user = await self._me(request)
        if user.has_2fa:
            return self._back(request, gettext("Two-factor login is already on."), "info")
        settings = get_settings(request)
        if totp.readable_secret(settings, user) is None:  # pending until a code confirms it
            sealed = totp.seal(settings, totp.new_secret())
            await pending_totp_secret(get_session(request), user, sealed)
        return self._setup_page(request, user)

    def _setup_page(self, request: Request, user: AdminUser, error: str | None = None) -> Response:
        secret = totp.readable_secret(get_settings(request), user)
        if secret is None:  # the pending secret vanished, or is under a retired key
            return self._back(request, gettext("Start the set-up again."), "error")
        return self._render(
            request,
            "account_2fa_setup.html",
            status_code=400 if error else 200,
            secret=secret,
            qr=totp.qr_svg(totp.provisioning_uri(user, secret)),
            error=error,
            required=_required(request, user),
            title="Two-factor login",
        )

    @route("/2fa/enable", methods=["POST"], name="account-2fa-enable")
    async def enable_2fa(self, request: Request) -> Response:
        user = await self._me(request)
        code = str((await request.form()).get("code") or "")
        secret = totp.readable_secret(get_settings(request), user)
        if user.has_2fa or secret is None:
            return self._back(request, gettext("Start the set-up again."), "error")
        if not totp.accept_totp(user, code, secret):
            return self._setup_page(
                request, user, error=gettext("That code is not right; try the current one.")
            )
        db = get_session(request)
        codes = await totp.enable(db, user, get_settings(request).secret)
        await record_event(db, "2fa_enabled", user=user)
        return self._render(
            request, "account_recovery_codes.html", codes=codes, title="Recovery codes"
        )

    @route("/2fa/codes", methods=["POST"], name="account-2fa-codes")
    async def new_codes(self, request: Request) -> Response:
        user = await self._me(request)
        if not user.has_2fa:
            return self._back(request, gettext("Two-factor login is off."), "error")
        codes = await totp.issue_recovery_codes(
            get_session(request), user, get_settings(request).secret
        )
        return self._render(
            request, "account_recovery_codes.html", codes=codes, title="Recovery codes"
        )

    @route("/2fa/disable", methods=["POST"], name="account-2fa-disable")
    async def disable_2fa(self, request: Request) -> Response:
        user = await self._me(request)
        password = str((await request.form()).get("password") or "")
        refused = await check_password(request, user, password, "Your password is not right.")
        if refused:
            return self._back(request, refused, "error")
        if _required(request, user):
            return self._back(
                request, gettext("Two-factor login is required for your account."), "error"
            )
        db = get_session(request)
        await totp.disable(db, user)
        await record_event(db, "2fa_disabled", user=user)
        return self._back(request, gettext("Two-factor login is off."))


async def check_password(
    request: Request, user: AdminUser, password: str, wrong: str
) -> str | None:
    """None when `password` is the user's own, else why not (`wrong`, or a lockout).

    Attempts count toward the login lockout, so a borrowed session cannot guess the
    password here faster than at the login page; refused attempts cost no hash.
    """
    sessions = get_sessionmaker(request)
    limits = throttle.Limits.from_settings(get_settings(request))
    key = user.email.lower()
    if not await throttle.begin_attempt(sessions, key, client_ip(request), limits):
        get_metrics(request).login_lockouts.inc()
        return "Too many wrong passwords: wait a few minutes before trying again."
    get_metrics(request).password_verifications.labels("account").inc()
    if not await verify_password_async(user.password_hash, password):
        return wrong
    await throttle.attempt_succeeded(sessions, key)
    return None


def _came_from(request: Request) -> str:
    """The admin page a form was sent from (its Referer), else My account."""
    referer = request.headers.get("referer", "")
    if referer.startswith(str(request.url_for("admin:index"))):
        return referer
    return str(request.url_for("admin:account"))


def _required(request: Request, user: AdminUser) -> bool:
    return get_settings(request).require_2fa and user.is_superuser
