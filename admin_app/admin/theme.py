"""Light and dark colours: each account's choice, rendered on the page's `<html>` element.

starlette-admin's theme puts `data-bs-theme="light"` or `"dark"` on `<html>` (Tabler's
switch for its dark palette). `AppTheme` sets it per request from the signed-in account's
`theme` (stored on the account, so it follows the person to another browser), and adds
`data-app-theme`, the choice itself. For `auto` (the default, and before anyone signs in)
the page says `light` and a small script in `<head>` (templates/admin/base.html) turns it
`dark` before the first paint when the operating system prefers dark, and again whenever
that preference changes.

The choice is part of the signed-in `Identity`, which the kept page chromes are keyed by
(`admin_app.admin.chrome.ChromeCache.key`), so a kept chrome never shows another
account's theme, or an old one after a change.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection, Request
from starlette_admin import DefaultTheme
from starlette_admin.i18n import lazy_gettext

from admin_app.auth.identity import current_identity
from admin_app.languages import text_direction
from admin_app.models.admin_user import THEMES

THEME_LABELS = {
    "auto": lazy_gettext("Auto (as your system)"),
    "light": lazy_gettext("Light"),
    "dark": lazy_gettext("Dark"),
}
"""How each choice of `THEMES` is named on the page."""

THEME_ICONS = {
    "auto": "fa-solid fa-circle-half-stroke",
    "light": "fa-solid fa-sun",
    "dark": "fa-solid fa-moon",
}


def theme_of(conn: HTTPConnection) -> str:
    """The signed-in account's theme; `auto` for anyone not signed in."""
    identity = current_identity(conn)
    return identity.theme if identity is not None else "auto"


def parse_theme(value: object) -> str | None:
    """`value` if it names a theme, else None."""
    return value if isinstance(value, str) and value in THEMES else None


class AppTheme(DefaultTheme):
    """starlette-admin's default theme with the mode chosen per request (`theme_of`)."""

    def html_attrs(self, request: Request) -> dict[str, str]:
        choice = theme_of(request)
        attrs = super().html_attrs(request)
        attrs["data-bs-theme"] = "dark" if choice == "dark" else "light"
        attrs["data-app-theme"] = choice
        attrs["dir"] = text_direction()  # `lang` is starlette-admin's: `get_locale()`
        return attrs

    def template_globals(self) -> dict[str, object]:
        return {"theme_of": theme_of, "theme_labels": THEME_LABELS, "theme_icons": THEME_ICONS}
