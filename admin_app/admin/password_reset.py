"""The password-reset, invitation and address-confirmation pages, open without a login.

They share the admin's layout and its CSRF protection. Every answer to "send me a
link" is the same page whether or not the account exists; a link that expired,
was used or was tampered with gets one clear page with a way to ask again.
"""

from __future__ import annotations

from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates
from starlette_admin.auth import login_not_required
from starlette_admin.flash import flash
from starlette_admin.i18n import gettext

from admin_app.audit.context import Actor, set_actor
from admin_app.auth.email_change import AddressTakenError, confirm_change
from admin_app.auth.identity import client_ip
from admin_app.auth.passwords import MIN_LENGTH, PasswordPolicyError
from admin_app.auth.reset import reset_allowed, reset_link, send_reset_link_later
from admin_app.auth.tokens import Purpose, load_user
from admin_app.auth.users import set_password
from admin_app.email.delivery import get_mailer
from admin_app.email.notices import password_changed
from admin_app.models import AdminUser
from admin_app.state import get_session, get_sessionmaker, get_settings

TOO_MANY = "Too many reset requests. Wait a while, then try again."

_TITLES: dict[Purpose, str] = {
    "password-reset": "Choose a new password",
    "invitation": "Welcome! Choose your password",
}


class PasswordResetPages:
    """Endpoints for `/admin/password-reset[/{token}]` and `/admin/invitation/{token}`."""

    def __init__(self, templates: Jinja2Templates) -> None:
        self.templates = templates

    def routes(self) -> list[Route]:
        return [
            Route("/password-reset", self.ask, methods=["GET", "POST"], name="password-reset"),
            Route(
                "/password-reset/{token}",
                self.reset,
                methods=["GET", "POST"],
                name="password-reset-confirm",
            ),
            Route("/invitation/{token}", self.accept, methods=["GET", "POST"], name="invitation"),
            Route(
                "/email-change/{token}",
                self.confirm_email,
                methods=["GET", "POST"],
                name="email-change",
            ),
        ]

    def _page(self, request: Request, name: str, status: int = 200, **context: Any) -> Response:
        return self.templates.TemplateResponse(
            request, f"password_reset/{name}.html", context, status_code=status
        )

    @login_not_required
    async def ask(self, request: Request) -> Response:
        """Ask for a reset link; the answer never says whether the account exists."""
        if request.method == "GET":
            return self._page(request, "ask", email=request.query_params.get("email", "")[:254])
        email = str((await request.form()).get("email") or "").strip()
        if "@" not in email or len(email) > 254:
            return self._page(
                request, "ask", 422, email=email[:254], error=gettext("Enter your email address.")
            )
        if not await reset_allowed(request, email):
            return self._page(request, "ask", 429, email=email, error=TOO_MANY)
        settings = get_settings(request)
        response = self._page(
            request, "sent", email=email, minutes=settings.password_reset_max_age // 60
        )
        # Whether the account exists is decided after the answer has gone, so the answer
        # takes the same time either way.
        response.background = BackgroundTask(
            send_reset_link_later,
            get_sessionmaker(request),
            settings,
            get_mailer(request),
            email,
            reset_link(request),
        )
        return response

    @login_not_required
    async def reset(self, request: Request) -> Response:
        """Set a new password from a reset link; the account's sessions all end."""
        return await self._set_password(request, "password-reset")

    @login_not_required
    async def accept(self, request: Request) -> Response:
        """Set the first password from an invitation."""
        return await self._set_password(request, "invitation")

    @login_not_required
    async def confirm_email(self, request: Request) -> Response:
        """Make an account's new address its own, from the link sent to that address. A
        GET only shows what will happen (mail scanners open links); the button posts."""
        token = request.path_params["token"]
        db = get_session(request)
        user = await load_user(db, get_settings(request), token, "email-change")
        if user is None or not user.pending_email:
            return self._page(request, "invalid", 400, purpose="email-change")
        if request.method == "GET":
            return self._page(request, "confirm_email", user=user)
        try:
            await confirm_change(db, user)
        except AddressTakenError as error:
            return self._page(request, "confirm_email", 409, user=user, error=str(error))
        flash(request, gettext("Your new email address is confirmed. Sign in with it."), "success")
        url = request.url_for("admin:login").include_query_params(email=user.email)
        return RedirectResponse(str(url), status_code=303)

    async def _set_password(self, request: Request, purpose: Purpose) -> Response:
        token = request.path_params["token"]
        user = await load_user(get_session(request), get_settings(request), token, purpose)
        if user is None:
            return self._page(request, "invalid", 400, purpose=purpose)
        # The emailed link proves who this is: the change is logged as theirs.
        set_actor(Actor(user.id, user.email, client_ip(request)))
        context: dict[str, Any] = {
            "user": user,
            "title": _TITLES[purpose],
            "min_length": MIN_LENGTH,
        }
        if request.method == "GET":
            return self._page(request, "choose", **context)
        form = await request.form()
        password = str(form.get("password") or "")
        if password != str(form.get("password_confirm") or ""):
            differ = gettext("The two passwords differ.")
            return self._page(request, "choose", 422, error=differ, **context)
        try:
            await set_password(session=get_session(request), user=user, password=password)
        except PasswordPolicyError as error:
            return self._page(request, "choose", 422, error=str(error), **context)
        return await self._done(request, user, purpose)

    async def _done(self, request: Request, user: AdminUser, purpose: Purpose) -> Response:
        background = None
        if purpose == "password-reset":
            row = await password_changed(get_session(request), get_settings(request), user, request)
            background = BackgroundTask(get_mailer(request).deliver_soon, [row.id])
            flash(
                request, gettext("Your password was changed. Sign in with the new one."), "success"
            )
        else:
            flash(request, gettext("Your password is set. Sign in to start."), "success")
        url = request.url_for("admin:login").include_query_params(email=user.email)
        return RedirectResponse(str(url), status_code=303, background=background)
