"""A record's pages: its detail page, its edit form and the create form, each a kept page.

Mixed into the admin (`AppAdmin`). Each page's chrome (layout, menu, toolbars, modals,
scripts) is kept per view, user and locale (`admin_app.admin.chrome.BlockPages`); per
request only the record's blocks are rendered. On the detail page the row actions (Edit,
Delete …) are kept too, per set of actions the record allows, with its key filled in.
The forms' long choice lists come from `choices` when used (`fields/form/enum.html`).
POSTs (saving a form) are starlette-admin's own, plus the checks `AppModelView` adds.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette_admin import RequestAction
from starlette_admin.contrib.sqla import Admin
from starlette_admin.fields import EnumField
from starlette_admin.flash import get_flashed_messages
from starlette_admin.routing import route

from admin_app.admin.base import AppModelView
from admin_app.admin.changes import ChangeReader
from admin_app.admin.chrome import BlockPages
from admin_app.admin.views.audit_entry import AuditEntryView
from admin_app.audit.history import object_history
from admin_app.db import table_of
from admin_app.state import get_session

SAFE_KEY = re.compile(r"[A-Za-z0-9_.~-]{1,64}")
"""Keys written the same in a URL, an HTML attribute and text: kept row actions take them."""


class RecordPages(Admin):
    """The detail page, edit form and create form of `AppModelView`s; other views get
    starlette-admin's own."""

    changes: ChangeReader
    """Reads audit entries in the words of the views (set by `AppAdmin`)."""

    def _setup_templates(self) -> None:
        super()._setup_templates()
        self._pages = BlockPages(self.templates.env)
        self._kept_actions: OrderedDict[Hashable, tuple[str, ...]] = OrderedDict()

    @route("/_api/{key}/choices", methods=["GET"], name="choices")
    async def _render_choices(self, request: Request) -> Response:
        """The options of a choice field whose form shows only the current one
        (`templates/admin/fields/form/enum.html`), as `[[value, label], …]`."""
        view = self._find_view_by_key(request.path_params.get("key"))
        name = request.query_params.get("field")
        if not view.is_accessible(request):
            return JSONResponse(None, status_code=403)
        # The fields the user sees in a form (edit shows every field create does and more).
        request.state.action = RequestAction.EDIT
        fields = {f.name: f for f in view.get_fields_list(request)}
        field = fields.get(name or "")
        if not isinstance(field, EnumField):
            return JSONResponse({"msg": "This view has no such choice field."}, status_code=404)
        choices = [[str(value), str(label)] for value, label in field._get_choices(request)]
        return JSONResponse(choices, headers={"Cache-Control": "private, no-cache"})

    @route("/{key}/edit", methods=["GET", "POST"], name="edit")
    async def _render_edit(self, request: Request) -> Response:
        """starlette-admin's edit form, refused (403) for a record the view says this user
        may not change (`change_refusal`: a superuser's account, to anyone else); the
        form itself (GET) is a kept page with the record filled in (`BlockPages`)."""
        request.state.action = RequestAction.EDIT
        view = self._find_view_by_key(request.path_params.get("key"))
        if not isinstance(view, AppModelView):
            response: Response = await super()._render_edit(request)
            return response
        if not view.is_accessible(request) or not view.can_edit(request):
            raise HTTPException(403)
        pk = request.query_params.get("pk")
        obj = await self._find_object_or_404(request, view, view.key, pk, "edit")
        refusal = await view.change_refusal(request, obj)
        if refusal:
            raise HTTPException(403, refusal)
        if request.method != "GET":
            response = await super()._render_edit(request)
            return response
        form = await view.serialize(obj, request)
        inlines = await self._inlines_context(request, view, parent=obj)
        record = {"raw_obj": obj, "obj": form, "inlines": inlines}
        return await self._form_page(request, view, view.edit_template, form, record)

    @route("/{key}/create", methods=["GET", "POST"], name="create")
    async def _render_create(self, request: Request) -> Response:
        """starlette-admin's create form; the empty form (GET) is a kept page (`BlockPages`)."""
        request.state.action = RequestAction.CREATE
        view = self._find_view_by_key(request.path_params.get("key"))
        if request.method != "GET" or not isinstance(view, AppModelView):
            response: Response = await super()._render_create(request)
            return response
        if not view.is_accessible(request) or not view.can_create(request):
            raise HTTPException(403)
        form = await self._create_default_obj(request, view)
        inlines = await self._inlines_context(request, view)
        record = {"obj": form, "inlines": inlines}
        return await self._form_page(request, view, view.create_template, form, record)

    async def _form_page(
        self,
        request: Request,
        view: AppModelView,
        template: str,
        form: Any,
        record: dict[str, Any],
    ) -> Response:
        """An edit or create form: the fields rendered for this request into the kept page."""
        widgets: dict[str, Any] = {}
        await self._render_form_body(request, view, form, None, widgets)
        chrome = {
            "title": view.title(request),
            "view": view,
            "widget_additional_css": widgets["widget_additional_css"],
            "widget_additional_js": widgets["widget_additional_js"],
        }
        record = {
            **record,
            "form_body": widgets["form_body"],
            "flashed_messages": get_flashed_messages(request),
        }
        html = self._pages.render(request, str(view.key), template, chrome=chrome, record=record)
        return HTMLResponse(html)

    @route("/{key}/detail", methods=["GET"], name="detail")
    async def _render_detail(self, request: Request) -> Response:
        """starlette-admin's detail page, plus the record's history from the audit log;
        a kept page with the record filled in (`BlockPages`)."""
        request.state.action = RequestAction.DETAIL
        view = self._find_view_by_key(request.path_params.get("key"))
        if not isinstance(view, AppModelView):
            response: Response = await super()._render_detail(request)
            return response
        if not view.is_accessible(request) or not view.can_view_detail(request):
            raise HTTPException(403)
        pk = request.query_params.get("pk")
        obj = await self._find_object_or_404(request, view, view.key, pk, "detail")
        history = await object_history(get_session(request), table_of(view.model).name, str(pk))
        rows = await self.changes.read(request, history)
        record = {
            "raw_obj": obj,
            "row_actions": await self._row_actions(request, view, obj),
            "obj": await view.serialize(obj, request),
            "inlines": await self._detail_inlines_context(request, view, obj),
            "history": list(zip(history, rows, strict=True)),
            "audit_visible": _audit_visible(self, request),
            "flashed_messages": get_flashed_messages(request),
        }
        chrome = {"title": view.title(request), "view": view}
        html = self._pages.render(
            request, str(view.key), view.detail_template, chrome=chrome, record=record
        )
        return HTMLResponse(html)

    async def _row_actions(self, request: Request, view: AppModelView, obj: Any) -> Markup:
        """The detail page's row action buttons, kept per user, URL (minus the key) and
        set of actions the record allows; rendered afresh for a key that is not `SAFE_KEY`."""
        actions = await view.get_row_actions_for_obj(request, obj)
        pk = str(await view.get_pk_value(request, obj))
        if not SAFE_KEY.fullmatch(pk):
            return Markup(self._render_row_actions(request, view, actions, pk))  # noqa: S704
        signature = tuple((a.get("name"), str(a.get("form") or "")) for a in actions)
        key = (self._pages.shells.key(request, f"{view.key}:actions", ignore=("pk",)), signature)
        parts = self._kept_actions.get(key)
        if parts is None:
            placeholder = f"pk{self._pages.slots.token}"
            query = [
                (k, placeholder if k == "pk" else v) for k, v in request.query_params.multi_items()
            ]
            stand_in = Request({**request.scope, "query_string": urlencode(query).encode()})
            html = self._render_row_actions(stand_in, view, actions, placeholder)
            parts = self._kept_actions[key] = tuple(html.split(placeholder))
            while len(self._kept_actions) > ACTIONS_KEPT:
                self._kept_actions.popitem(last=False)
        return Markup(pk.join(parts))  # noqa: S704 (rendered by the template, escaped)

    def _render_row_actions(
        self, request: Request, view: AppModelView, actions: list[dict[str, Any]], pk: str
    ) -> str:
        template = self.templates.env.get_template("row-actions.html")
        return template.render(request=request, view=view, pk=pk, _actions=actions)


ACTIONS_KEPT = 512
"""Row-action sets kept (a few hundred bytes each), the least recently used dropped first."""


def _audit_visible(admin: Admin, request: Request) -> bool:
    view = next((v for v in admin._model_views if isinstance(v, AuditEntryView)), None)
    return view is not None and view.is_accessible(request)
