"""What every page under My account shares: who is asking, rendering, going back."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette_admin import CustomView
from starlette_admin.flash import flash

from admin_app.admin import compat
from admin_app.auth.identity import load_current_user
from admin_app.models import AdminUser


class AccountPage(CustomView):
    """Base of the My account view and its sections (`AccountView`, `ApiTokenPages`)."""

    async def _me(self, request: Request) -> AdminUser:
        user = await load_current_user(request)
        if user is None:
            raise HTTPException(403)
        return user

    def _render(
        self, request: Request, name: str, status_code: int = 200, **context: Any
    ) -> Response:
        context.setdefault("title", "My account")
        return compat.template_response(compat.admin_of(self), request, name, context, status_code)

    def _back(self, request: Request, message: str, category: str = "success") -> Response:
        flash(request, message, category)
        return RedirectResponse(request.url_for("admin:account"), status_code=303)
