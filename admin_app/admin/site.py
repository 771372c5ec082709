"""Build the admin site: starlette-admin wired to the app's sessions, auth, keys and templates."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, Route
from starlette_admin import DropDown
from starlette_admin.auth import AuthMiddleware as StockAuthMiddleware
from starlette_admin.auth import login_not_required
from starlette_admin.contrib.sqla.middleware import DBSessionMiddleware
from starlette_admin.flash import FlashMiddleware as StockFlashMiddleware
from starlette_admin.flash import get_flashed_messages
from starlette_admin.i18n import TimezoneMiddleware as StockTimezoneMiddleware
from starlette_admin.routing import route
from starlette_admin.security.csrf import CSRFMiddleware as StockCSRFMiddleware
from starlette_admin.views import BaseView

from admin_app import languages
from admin_app.admin import compat, relation_filters, relations, script_words
from admin_app.admin.account import AccountView
from admin_app.admin.base import AppModelView
from admin_app.admin.bulk_edit_pages import BulkEditPages
from admin_app.admin.changes import ChangeReader
from admin_app.admin.dashboard import DashboardView
from admin_app.admin.datetimes import local_date, local_datetime
from admin_app.admin.devices import device_name
from admin_app.admin.fields import PermissionMatrixField
from admin_app.admin.header_filters import header_filter
from admin_app.admin.import_pages import ImportPages
from admin_app.admin.importing import all_or_nothing
from admin_app.admin.labels import Label, create_label, name_in_languages
from admin_app.admin.lists.routes import ListRoutes
from admin_app.admin.media_access import media_endpoint
from admin_app.admin.page_script import PageScript
from admin_app.admin.palette import PaletteRoutes
from admin_app.admin.password_reset import PasswordResetPages
from admin_app.admin.record_pages import RecordPages
from admin_app.admin.registry import REGISTRY
from admin_app.admin.saved_views.routes import SavedViewRoutes
from admin_app.admin.theme import AppTheme
from admin_app.admin.trash_delete import pop_undo
from admin_app.admin.trash_pages import TrashPages
from admin_app.admin.versioning import EditConflict
from admin_app.admin.views.audit_entry import AuditEntryView
from admin_app.admin.views.change_request import ChangeRequestView
from admin_app.admin.views.webhook_endpoint import WebhookEndpointView
from admin_app.admin.webhook_topics import webhook_topics
from admin_app.auth import second_factor
from admin_app.auth.provider import DatabaseAuthProvider
from admin_app.db import table_of
from admin_app.live.publish import publish_admin_changes
from admin_app.middleware import admin_guards
from admin_app.middleware.early_errors import EarlyHTTPErrorMiddleware
from admin_app.settings import Settings
from admin_app.templating import (
    TEMPLATES_DIR,
    add_nonces,
    app_templates,
    share_globals,
    static_url,
)
from admin_app.web.errors import error_response, exception_handlers, wants_json
from admin_app.web.url_paths import path_urls
from admin_app.webhooks.dispatcher import wake_after_commit
from admin_app.webhooks.topics import choices


class AppAdmin(
    RecordPages,
    ListRoutes,
    TrashPages,
    ImportPages,
    BulkEditPages,
    PaletteRoutes,
    SavedViewRoutes,
):
    """starlette-admin's `Admin`, with these changes, each for a reason:

    - its per-request `DBSessionMiddleware` is dropped: the app's own (outermost)
      one gives the admin and the app's routes the same session;
    - its flash, CSRF and login middleware are plain ASGI (`admin_guards`), and the
      login check sends superusers to two-factor enrollment when `REQUIRE_2FA` says so;
    - error pages are negotiated (JSON for API clients) and a lost database is a 503;
    - uploaded media are served from inside the admin, behind its login;
    - list pages and relation pickers stay fast on big tables (`ListRoutes`,
      see docs/big-tables.md);
    - deleting shows what the delete does first (`DeletePages`); customers, products
      and orders go to a trash, with Undo, Restore and Delete for good (`TrashPages`);
    - a record's detail page and forms keep their chrome (`RecordPages`);
    - files are imported as jobs, through pages that map, check and apply them with a
      progress bar (`ImportPages`, over the JSON calls of `ImportJobRoutes`);
    - every page has a command palette and global search (`PaletteRoutes`);
    - lists have saved, shareable views (`SavedViewRoutes`, `admin_app.admin.saved_views`);
    - rows are edited many at once, previewed, in batches and undone as one
      (`BulkEditPages`, `admin_app.bulk_edit`).
    """

    READ_ONLY_ROUTES = re.compile(
        r"/(?:[^/]+/(?:list|detail|edit|create)|_api/[^/]+/relation-lookup|_api/(?:search|palette))"
    )
    """The admin routes whose GETs only read (`reads_only`): lists, relation pickers, a
    record's detail page and forms, and the palette's calls, which run without a
    transaction on PostgreSQL."""

    def __init__(self, settings: Settings, views: Sequence[AppModelView], **kwargs: Any) -> None:
        super().__init__(
            async_sessionmaker(),  # unused: see DBSessionMiddleware below
            title="Store Admin",
            base_url="/admin",
            templates_dir=str(TEMPLATES_DIR / "admin"),
            auth_provider=DatabaseAuthProvider(settings),
            secret_key=settings.secret,
            index_view=DashboardView(list(views)),
            favicon_url=static_url("favicon.svg"),
            theme=AppTheme(),
            debug=False,
            **kwargs,
        )
        self.middlewares = [
            Middleware(EarlyHTTPErrorMiddleware),  # outermost: sees what the others raise
            *(
                _plain_asgi(m, settings.secret_keys)
                for m in self.middlewares
                if getattr(m, "cls", None) is not DBSessionMiddleware
            ),
        ]
        self.changes = ChangeReader(views)
        languages.load_catalogues()
        languages.install(self.templates.env)
        add_nonces(self.templates.env)
        share_globals(self.templates.env)
        path_urls(self.templates.env, f"{self.route_name}:static")
        self.templates.env.filters["local_datetime"] = local_datetime
        self.templates.env.filters["local_date"] = local_date
        self.templates.env.filters["device_name"] = device_name
        self.templates.env.globals["in_frame"] = relations.in_frame
        self.templates.env.globals["create_label"] = create_label
        self.templates.env.globals["header_filter"] = header_filter
        self.templates.env.globals["trash_undo"] = pop_undo
        compat.add_template_names(self.templates.env)
        # Templates change only with a deploy (a restart): no file check on every render.
        self.templates.env.auto_reload = settings.debug
        self.templates.env.globals["get_flashed_messages"] = get_flashed_messages
        self._page_script = PageScript(self.templates.env, f"{self.route_name}:page-script")
        script_words.install(self.templates.env, f"{self.route_name}:words-script")
        media = media_endpoint(views)
        self.routes.insert(0, Route("/media/{name:path}", media, name="media"))
        self.routes.insert(
            0,
            Route("/login/2fa", self._second_factor, methods=["GET", "POST"], name="login-2fa"),
        )
        self.routes[:0] = PasswordResetPages(self.templates).routes()
        if settings.sso_enabled:
            # Imported here: the OIDC client (Authlib, joserfc) is ~4 MB of memory that a
            # deployment without single sign-on never needs.
            from admin_app.admin.sso_pages import SsoPages

            assert isinstance(self.auth_provider, DatabaseAuthProvider)
            sso = SsoPages(self.templates, self.auth_provider, settings)
            self.routes[:0] = sso.routes()

    @route("/_api/page.js", methods=["GET"], name="page-script")
    @login_not_required
    async def page_script(self, request: Request) -> Response:
        """The script every page loads (`page_script`), the sign-in page too."""
        script = self._page_script
        headers = script.headers(request.query_params.get("v"))
        return Response(script.text, media_type="text/javascript", headers=headers)

    @route("/_api/words.js", methods=["GET"], name="words-script")
    @login_not_required
    async def words_script(self, request: Request) -> Response:
        """The words our scripts write, in one language (`admin_app.admin.script_words`)."""
        params = request.query_params
        text, cache = script_words.words_response_parts(params.get("l"), params.get("v"))
        return Response(text, media_type="text/javascript", headers={"Cache-Control": cache})

    @login_not_required
    async def _second_factor(self, request: Request) -> Response:
        """The code step of login for accounts with two-factor login."""
        assert isinstance(self.auth_provider, DatabaseAuthProvider)
        return await second_factor.handle(request, self.auth_provider, self.templates)

    async def error_page(self, request: Request, exc: Exception) -> Response:
        """starlette-admin's error page, but a 409 page for an edit conflict and JSON for
        API clients."""
        assert isinstance(exc, HTTPException)
        if isinstance(exc, EditConflict):
            return self._render_conflict(request, exc)
        if wants_json(request):
            return error_response(self.templates, request, exc.status_code, headers=exc.headers)
        return await super().error_page(request, exc)

    def _render_conflict(self, request: Request, conflict: EditConflict) -> Response:
        if wants_json(request):
            rows = [
                {"field": r.label, "current": r.current, "yours": r.submitted}
                for r in conflict.rows
            ]
            return JSONResponse({"error": "conflict", "fields": rows}, status_code=409)
        context = {
            "view": conflict.view,
            "pk": conflict.pk,
            "rows": conflict.rows,
            "gone": conflict.gone,
        }
        return compat.template_response(self, request, "conflict.html", context, status_code=409)

    @route("/_api/{key}/action", methods=["POST"], name="action")
    async def handle_action(self, request: Request) -> Response:
        """starlette-admin's batch endpoint, with a 400 rather than a 500 for a missing name."""
        if not request.query_params.get("name"):
            return JSONResponse({"msg": "No action was named."}, status_code=400)
        response: Response = await super().handle_action(request)
        return response

    async def import_endpoint(self, request: Request) -> Response:
        """starlette-admin's import, but all rows or none (`importing.all_or_nothing`)."""
        response = await super().import_endpoint(request)
        if request.query_params.get("preview") in ("1", "true", "yes"):
            return response
        return all_or_nothing(response)

    @property
    def model_views(self) -> list[AppModelView]:
        """Every model view added to the site."""
        return [view for view in compat.model_views(self) if isinstance(view, AppModelView)]

    def mount_to(self, app: Starlette) -> None:
        """As starlette-admin's, but the admin app also gets the app's 400/500/503 handlers,
        and list pages are matched early.

        Starlette tries routes in order, and list pages are most of an admin's traffic.
        Inside the admin, the list route goes first after the routes that could also match
        a `/{key}/list` path (a token or a media file named "list"); the rest keep their
        order, and no fixed path can be a list page's. In the app, the admin's mount goes
        right after the routes under its prefix (the live feed), ahead of the probes,
        metrics and static files, whose paths are outside it."""
        listing = next(r for r in self.routes if _named(r, "list"))
        rest = [r for r in self.routes if r is not listing]
        shadowing = [r for r in rest if _could_be_a_list_page(r)]
        self.routes[:] = [*shadowing, listing, *(r for r in rest if r not in shadowing)]
        super().mount_to(app)
        mount = app.router.routes.pop()
        prefix = f"{self.base_url.rstrip('/')}/"
        under = [r for r in app.router.routes if str(getattr(r, "path", "")).startswith(prefix)]
        others = [r for r in app.router.routes if r not in under]
        app.router.routes[:] = [*under, mount, *others]
        handlers = exception_handlers(app_templates())
        handlers.pop(HTTPException)  # the admin renders its own HTTP error pages
        self.app.exception_handlers.update(handlers)


def _could_be_a_list_page(route: BaseRoute) -> bool:
    """Whether `route` would also match `/<its first path segment>/list` (the list route's
    shape for a view of that key), so it must be tried before the list route."""
    path = str(getattr(route, "path", ""))
    first = path.strip("/").split("/")[0]
    if not first or "{" in first:
        return False
    match, _ = route.matches({"type": "http", "path": f"/{first}/list", "method": "GET"})
    return match != Match.NONE


def _named(route: BaseRoute, name: str) -> bool:
    return getattr(route, "name", None) == name


_PLAIN_ASGI: dict[Any, Any] = {
    StockFlashMiddleware: admin_guards.FlashMiddleware,
    StockCSRFMiddleware: admin_guards.CSRFMiddleware,
    StockAuthMiddleware: admin_guards.LoginMiddleware,
    StockTimezoneMiddleware: admin_guards.TimezoneMiddleware,
}
_TWIN_OPTIONS: dict[Any, dict[str, Any]] = {
    # With REQUIRE_2FA, a superuser without two-factor login may only enroll.
    admin_guards.LoginMiddleware: {"gate": second_factor.enrollment_redirect},
}


def _plain_asgi(middleware: Middleware, secret_keys: list[str]) -> Middleware:
    """starlette-admin's `BaseHTTPMiddleware` flash, CSRF and login layers, and its time
    zone layer, as our plain ASGI twins (`admin_app.middleware.admin_guards`). The signed
    cookies take every key, so a key rotation keeps forms and messages working. The login
    check gets the enrollment rule here, so neither `auth` nor `middleware` imports the other.
    """
    twin = _PLAIN_ASGI.get(middleware.cls)
    if twin is None:
        return middleware
    kwargs: dict[str, Any] = dict(middleware.kwargs)
    if "secret_key" in kwargs:
        kwargs["secret_key"] = secret_keys
    kwargs.update(_TWIN_OPTIONS.get(twin, {}))
    return Middleware(twin, *middleware.args, **kwargs)


def build_admin(settings: Settings, registry: Iterable[type[AppModelView]] = REGISTRY) -> AppAdmin:
    """The admin site with every registered view, grouped in the menu by `menu_group`."""
    views = [view_class() for view_class in registry]
    name_in_languages(views)
    _fill_permission_catalogs(views)
    relations.resolve(views)
    relation_filters.install(views)
    _offer_webhook_topics(views)
    admin = AppAdmin(settings, views)
    _link_audit_targets(views, admin.changes)
    _link_approval_targets(views, admin.changes)
    for entry in _menu(views):
        admin.add_view(entry)
    admin.add_view(AccountView())
    publish_admin_changes(admin.model_views)
    wake_after_commit(admin.model_views)
    return admin


def _fill_permission_catalogs(views: list[AppModelView]) -> None:
    """Every permission grid lists every registered view, with the actions it offers."""
    catalog = [
        (str(v.key), v.menu_label or str(v.key), v.permission_actions())
        for v in views
        if v.permission_actions()
    ]
    for view in views:
        for field in view.fields:
            if isinstance(field, PermissionMatrixField):
                field.catalog = catalog


def _offer_webhook_topics(views: list[AppModelView]) -> None:
    """The webhook endpoint form offers every model that can be followed."""
    offered = choices(webhook_topics(views))
    for view in views:
        if isinstance(view, WebhookEndpointView):
            view.follow_topics(offered)


def _link_audit_targets(views: list[AppModelView], reader: ChangeReader) -> None:
    """Tell the audit log which view manages each table (for revert permissions and links),
    and how to read entries in the words of those views."""
    targets = {table_of(v.model).name: v for v in views}
    parents = {
        table_of(model).name: v
        for v in views
        for inline in compat.inline_views(v)
        if (model := getattr(inline, "model", None)) is not None
    }
    for view in views:
        if isinstance(view, AuditEntryView):
            view.targets = targets
            view.parents = parents
            view.reader = reader


def _link_approval_targets(views: list[AppModelView], reader: ChangeReader) -> None:
    """Tell the change requests' view which views take proposals, and how to read them."""
    targets = {str(v.key): v for v in views if v.proposables()}
    for view in views:
        if isinstance(view, ChangeRequestView):
            view.targets = targets
            view.reader = reader


def _menu(views: list[AppModelView]) -> list[BaseView]:
    groups: dict[str | None, list[AppModelView]] = {}
    for view in views:
        groups.setdefault(view.menu_group, []).append(view)
    entries: list[BaseView] = []
    for group, members in groups.items():
        if group is None:
            entries.extend(members)
        else:
            entries.append(
                DropDown(Label(group), views=list(members), icon=_GROUP_ICONS.get(group))
            )
    return entries


_GROUP_ICONS = {
    "Catalogue": "fa fa-store",
    "Sales": "fa fa-cart-shopping",
    "Administration": "fa fa-gear",
}
