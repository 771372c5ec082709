"""A record's pages: its detail page, its edit form and the create form, each a kept page.

Mixed into the admin (`AppAdmin`). Each page's chrome (layout, menu, toolbars, modals,
scripts) is kept per view, user and locale (`admin_app.admin.chrome.RecordChromes`); per
request only the record's blocks are rendered. On the detail page the row actions (Edit,
Delete …) are kept too, per set of actions the record allows, with its key filled in.
The forms' long choice lists come from `choices` when used (`fields/form/enum.html`).
POSTs (saving a form) are starlette-admin's own, plus the checks `AppModelView` adds.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Hashable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette_admin import RequestAction
from starlette_admin.fields import EnumField
from starlette_admin.flash import get_flashed_messages
from starlette_admin.routing import route
from starlette_admin.views import BaseModelView

from admin_app.admin import child_rows, compat, record_fields, relations
from admin_app.admin.base import AppInlineView, AppModelView
from admin_app.admin.changes import ChangeReader
from admin_app.admin.chrome import RecordChromes, Slots
from admin_app.admin.compat import AdminPages
from admin_app.admin.views.audit_entry import AuditEntryView
from admin_app.audit.context import change_set
from admin_app.audit.history import object_history
from admin_app.db import table_of
from admin_app.middleware.limits import FORM_FIELDS
from admin_app.state import get_session

SAFE_KEY = re.compile(r"[A-Za-z0-9_.~-]{1,64}")
"""Keys written the same in a URL, an HTML attribute and text: kept row actions take them."""


class RecordPages(AdminPages):
    """The detail page, edit form and create form of `AppModelView`s; other views get
    starlette-admin's own."""

    changes: ChangeReader
    """Reads audit entries in the words of the views (set by `AppAdmin`)."""

    def setup_templates(self) -> None:
        super().setup_templates()
        self.templates.env.globals["inline_total"] = child_rows.rows_total
        self._pages = RecordChromes(self.templates.env, Slots())
        self._kept_actions: OrderedDict[Hashable, tuple[str, ...]] = OrderedDict()

    @route("/_api/{key}/choices", methods=["GET"], name="choices")
    async def choices(self, request: Request) -> Response:
        """The options of a choice field whose form shows only the current one
        (`templates/admin/fields/form/enum.html`), as `[[value, label], …]`."""
        view = compat.find_view_by_key(self, request.path_params.get("key"))
        name = request.query_params.get("field")
        if not view.is_accessible(request):
            return JSONResponse(None, status_code=403)
        # The fields the user sees in a form (edit shows every field create does and more).
        request.state.action = RequestAction.EDIT
        fields = {f.name: f for f in view.get_fields_list(request)}
        field = fields.get(name or "")
        if not isinstance(field, EnumField):
            return JSONResponse({"msg": "This view has no such choice field."}, status_code=404)
        choices = [[str(value), str(label)] for value, label in compat.enum_choices(field, request)]
        return JSONResponse(choices, headers={"Cache-Control": "private, no-cache"})

    async def edit_page(self, request: Request) -> Response:
        """starlette-admin's edit form, refused (403) for a record the view says this user
        may not change (`change_refusal`: a superuser's account, to anyone else); the
        form itself (GET) is a kept page with the record filled in (`RecordChromes`)."""
        request.state.action = RequestAction.EDIT
        view = compat.find_view_by_key(self, request.path_params.get("key"))
        if not isinstance(view, AppModelView):
            return await super().edit_page(request)
        if not view.is_accessible(request) or not view.can_edit(request):
            raise HTTPException(403)
        pk = request.query_params.get("pk")
        obj = await compat.find_object_or_404(self, request, view, pk, "edit")
        refusal = await view.change_refusal(request, obj)
        if refusal:
            raise HTTPException(403, refusal)
        if request.method != "GET":
            await request.form(max_fields=FORM_FIELDS)  # kept for starlette-admin's own read
            with _one_change_set(view):
                return await super().edit_page(request)
        form = await view.serialize(obj, request)
        inlines = await compat.form_inlines(self, request, view, parent=obj)
        record = {"raw_obj": obj, "obj": form, "inlines": inlines}
        return await self._form_page(request, view, view.edit_template, form, record)

    async def create_page(self, request: Request) -> Response:
        """starlette-admin's create form; the empty form (GET) is a kept page (`RecordChromes`)."""
        request.state.action = RequestAction.CREATE
        view = compat.find_view_by_key(self, request.path_params.get("key"))
        if request.method != "GET" or not isinstance(view, AppModelView):
            if request.method == "POST":
                await request.form(max_fields=FORM_FIELDS)  # kept for starlette-admin's read
            with _one_change_set(view):
                return await super().create_page(request)
        if not view.is_accessible(request) or not view.can_create(request):
            raise HTTPException(403)
        form = await compat.create_defaults(self, request, view)
        form = relations.chosen(request, view, form, lambda key: compat.find_view_by_key(self, key))
        inlines = await compat.form_inlines(self, request, view)
        record = {"obj": form, "inlines": inlines}
        return await self._form_page(request, view, view.create_template, form, record)

    async def inlines_context(
        self, request: Request, view: BaseModelView, parent: Any, inline_data: Any
    ) -> list[dict[str, Any]]:
        """starlette-admin's inline sections, each with the choices its rows offer
        (`AppInlineView.form_options`), rendered once per form."""
        sections = await super().inlines_context(request, view, parent, inline_data)
        form = None if inline_data is None else await request.form()
        for section in sections:
            inline = section["inline"]
            if isinstance(inline, AppInlineView):
                section.update(await child_rows.table_context(request, inline, form))
                child_rows.add_versions(request, inline, section["rows"], form)
        return sections

    async def save_inlines(
        self, request: Request, view: BaseModelView, parent: Any, inline_data: Any
    ) -> None:
        """Write a form's child rows as one with their parent (`admin_app.admin.child_rows`):
        refused whole (409) when a row changed since the form was opened; numbered in
        the order given; the rows the user left as they were are not written again."""
        if not isinstance(view, AppModelView):
            return await super().save_inlines(request, view, parent, inline_data)
        await child_rows.check_rows(request, view, parent, inline_data)
        child_rows.number_rows(view, inline_data)
        changed = await child_rows.changed_rows(request, view, parent, inline_data)
        edits, rest = child_rows.split_edits(changed)
        try:
            await child_rows.apply_edits(request, view, parent, edits)
            await super().save_inlines(request, view, parent, rest)
            await view.after_children_saved(request, parent)
            if any(changed.values()):
                await child_rows.bump_version(request, parent)
        except StaleDataError:
            # Saved by someone else between the check and the write: the UPDATE's own
            # version check caught it (`admin_app.db.Versioned`).
            await child_rows.lost_race(request, view, parent, inline_data)

    async def _form_page(
        self,
        request: Request,
        view: AppModelView,
        template: str,
        form: Any,
        record: dict[str, Any],
    ) -> Response:
        """An edit or create form: the fields rendered for this request into the kept page."""
        fields = view.get_fields_list(request)
        widgets = record_fields.form_body(view, fields, form, record_fields.page_kit(request, view))
        if widgets is None:
            widgets = await compat.form_body(self, request, view, form)
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

    async def detail_page(self, request: Request) -> Response:
        """starlette-admin's detail page, plus the record's history from the audit log;
        a kept page with the record filled in (`RecordChromes`)."""
        request.state.action = RequestAction.DETAIL
        view = compat.find_view_by_key(self, request.path_params.get("key"))
        if not isinstance(view, AppModelView):
            return await super().detail_page(request)
        if not view.is_accessible(request) or not view.can_view_detail(request):
            raise HTTPException(403)
        pk = request.query_params.get("pk")
        obj = await compat.find_object_or_404(self, request, view, pk, "detail")
        history = await object_history(get_session(request), table_of(view.model).name, str(pk))
        rows = await self.changes.read(request, history)
        values = await view.serialize(obj, request)
        fields = view.get_fields_list(request)
        record = {
            "raw_obj": obj,
            "row_actions": await self._actions_html(request, view, obj),
            "obj": values,
            "detail_rows": record_fields.detail_rows(
                fields, values, record_fields.page_kit(request, view)
            ),
            "inlines": await compat.detail_inlines(self, request, view, obj),
            "relations": await relations.shown(request, view, obj),
            "history": list(zip(history, rows, strict=True)),
            "audit_visible": _audit_visible(self, request),
            "flashed_messages": get_flashed_messages(request),
        }
        chrome = {"title": view.title(request), "view": view}
        html = self._pages.render(
            request, str(view.key), view.detail_template, chrome=chrome, record=record
        )
        return HTMLResponse(html)

    async def _actions_html(self, request: Request, view: AppModelView, obj: Any) -> Markup:
        """The detail page's row action buttons, kept per user, URL (minus the key) and
        set of actions the record allows; rendered afresh for a key that is not `SAFE_KEY`."""
        actions = await view.get_row_actions_for_obj(request, obj)
        pk = str(await view.get_pk_value(request, obj))
        if not SAFE_KEY.fullmatch(pk):
            return Markup(self._actions_template(request, view, actions, pk))  # noqa: S704
        signature = tuple((a.get("name"), str(a.get("form") or "")) for a in actions)
        key = (self._pages.key(request, "actions", str(view.key)), signature)
        parts = self._kept_actions.get(key)
        if parts is None:
            placeholder = f"pk{self._pages.slots.token}"
            query = [
                (k, placeholder if k == "pk" else v) for k, v in request.query_params.multi_items()
            ]
            stand_in = Request({**request.scope, "query_string": urlencode(query).encode()})
            html = self._actions_template(stand_in, view, actions, placeholder)
            parts = self._kept_actions[key] = tuple(html.split(placeholder))
            while len(self._kept_actions) > ACTIONS_KEPT:
                self._kept_actions.popitem(last=False)
        return Markup(pk.join(parts))  # noqa: S704 (rendered by the template, escaped)

    def _actions_template(
        self, request: Request, view: AppModelView, actions: list[dict[str, Any]], pk: str
    ) -> str:
        template = self.templates.env.get_template("row-actions.html")
        return template.render({compat.ACTIONS_KEY: actions}, request=request, view=view, pk=pk)


ACTIONS_KEPT = 512
"""Row-action sets kept (a few hundred bytes each), the least recently used dropped first."""


def _audit_visible(admin: AdminPages, request: Request) -> bool:
    views = compat.model_views(admin)
    view = next((v for v in views if isinstance(v, AuditEntryView)), None)
    return view is not None and view.is_accessible(request)


@contextmanager
def _one_change_set(view: Any) -> Iterator[None]:
    """A form that saves child rows with their parent is logged as one change set."""
    grouped = isinstance(view, AppModelView) and compat.inline_views(view)
    with change_set() if grouped else nullcontext():
        yield
