"""The bulk edit pages: choose fields and values, preview, apply, see the result.

1. `GET /admin/<key>/bulk-edit?pks=…` (or `?all=1&list_query=…`, every row matching
   the list) shows a form with each field the user may set (`bulk_edit.fields`), in
   its own widget, behind a "Change" box.
2. `POST` there reads the chosen values as the edit form would (its messages, at the
   fields; 400), finds the rows and keeps the plan (`bulk_edit.plan`), and goes to
3. `GET /admin/<key>/bulk-edit/<token>`: the preview (how many rows change, how many
   already hold the values, and about ten rows before and after), or once applied the
   result (changed, skipped rows listed with why, and the way to undo).
4. `POST` there applies it: up to `INLINE_LIMIT` rows within the request, more in a
   task whose progress bar polls `GET …/<token>/status`.

Every route needs the model's `edit` permission and a field to set (403), and a plan
is only its owner's (404 for anyone else, as for none). Undo is the audit log's revert
of the edit's change set, refused while any row has changed since.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette_admin import RequestAction
from starlette_admin.contrib.sqla import Admin
from starlette_admin.exceptions import FormValidationError
from starlette_admin.i18n import gettext, lazy_gettext
from starlette_admin.routing import route

from admin_app.admin import compat
from admin_app.admin.base import AppModelView, acting_view
from admin_app.auth.identity import current_identity
from admin_app.auth.permissions import grants
from admin_app.bulk_edit.apply import Applier
from admin_app.bulk_edit.fields import NotOffered, may_bulk_edit, offered_fields, read_values
from admin_app.bulk_edit.plan import (
    SAMPLE,
    Plan,
    PlanError,
    Selection,
    make_plan,
    matching,
    pk_column,
    save,
)
from admin_app.bulk_edit.plan import load as load_plan
from admin_app.bulk_edit.runs import INLINE_LIMIT, claim, get_bulk_edits, read_state
from admin_app.languages import in_sentence
from admin_app.live.messages import Actor
from admin_app.live.service import find_live
from admin_app.state import get_session, get_sessionmaker, get_settings

_REFUSAL = lazy_gettext("You may not edit %(things)s.")


class BulkEditPages(Admin):
    """The bulk edit routes, mixed into the admin."""

    @route("/{key}/bulk-edit", methods=["GET", "POST"], name="bulk-edit")
    async def bulk_edit_page(self, request: Request) -> Response:
        """GET: the form for the selection. POST: check it, keep the plan, go to its preview."""
        view = self._bulk_editing(request)
        form = await request.form() if request.method == "POST" else None
        selection = _selection(form or request.query_params)
        if form is None:
            return await self._bulk_form_page(request, view, selection, {}, {}, 200)
        chosen = [str(name) for name in form.getlist("fields")]
        try:
            values = await read_values(view, request, form, chosen)
        except NotOffered as refused:
            raise HTTPException(403, str(refused)) from None
        except FormValidationError as invalid:
            errors = {str(k): str(v) for k, v in invalid.errors.items()}
            return await self._bulk_form_page(request, view, selection, form, errors, 400)
        try:
            plan = await make_plan(view, request, selection, values)
        except PlanError as bad:
            raise HTTPException(400, str(bad)) from None
        save(get_settings(request), plan)
        return RedirectResponse(self._bulk_plan_url(request, view, plan.token), status_code=303)

    @route("/{key}/bulk-edit/{token}", methods=["GET", "POST"], name="bulk-edit-plan")
    async def bulk_edit_plan(self, request: Request) -> Response:
        """GET: the preview, or the result once applied. POST: apply it."""
        view = self._bulk_editing(request)
        plan = self._bulk_plan(request, view)
        state = read_state(get_settings(request), plan.token)
        if request.method == "GET" or state is not None:  # applied already: show how it went
            return await self._bulk_plan_page(request, view, plan, state)
        result = RedirectResponse(self._bulk_plan_url(request, view, plan.token), status_code=303)
        if not claim(get_settings(request), plan):  # applied meanwhile (a second click)
            return result
        await get_session(request).commit()  # SQLite: the batches need the write lock
        applier = Applier(get_sessionmaker(request), view, dict(request.scope["state"]))
        options = self._bulk_announcing(request)
        if len(plan.pks) <= INLINE_LIMIT:
            await get_bulk_edits(request).run(applier, plan, **options)
        else:
            get_bulk_edits(request).start(applier, plan, **options)
        return result

    @route("/{key}/bulk-edit/{token}/status", methods=["GET"], name="bulk-edit-status")
    async def bulk_edit_status(self, request: Request) -> Response:
        """How the applied edit is going, for its progress bar."""
        view = self._bulk_editing(request)
        plan = self._bulk_plan(request, view)
        state = read_state(get_settings(request), plan.token)
        return JSONResponse(state or {"token": plan.token, "status": "previewed"})

    def _bulk_editing(self, request: Request) -> AppModelView:
        return acting_view(self, request, RequestAction.EDIT, may_bulk_edit, str(_REFUSAL))

    def _bulk_plan(self, request: Request, view: AppModelView) -> Plan:
        user = current_identity(request)
        try:
            plan = load_plan(
                get_settings(request),
                request.path_params["token"],
                user.id if user else None,
                grants(request).superuser,
            )
        except PlanError as missing:
            raise HTTPException(404, str(missing)) from None
        if plan.model != view.key:
            raise HTTPException(404, gettext("There is no such bulk edit."))
        return plan

    def _bulk_announcing(self, request: Request) -> dict[str, Any]:
        """Who the edit is by, and how it is told (live listeners, the user's own pages)."""
        user = current_identity(request)
        actor = Actor(user.id if user else 0, user.display_name if user else "system")
        live = find_live(request)
        return {
            "actor": actor,
            "publish": live.publish if live else None,
            "tell": live.tell if live else None,
        }

    def _bulk_plan_url(self, request: Request, view: AppModelView, token: str) -> str:
        url = request.url_for(f"{self.route_name}:bulk-edit-plan", key=view.key, token=token)
        return str(compat.with_origin(url, compat.requested_origin(request)))

    async def _bulk_form_page(
        self,
        request: Request,
        view: AppModelView,
        selection: Selection,
        form: Any,
        errors: dict[str, str],
        status_code: int,
    ) -> Response:
        fields = offered_fields(view, request)
        values = {name: form.get(field.id) for name, field in fields.items()} if form else {}
        chosen = set(form.getlist("fields")) if form else set()
        context = {
            "title": _title(view),
            "view": view,
            "step": "form",
            "fields": list(fields.values()),
            "values": values,
            "chosen": chosen,
            "errors": errors,
            "selection": selection,
            "list_url": self._bulk_list_url(request, view, selection),
            "field_js": _field_links(request, fields.values(), "additional_js_links"),
            "field_css": _field_links(request, fields.values(), "additional_css_links"),
        }
        return compat.template_response(self, request, "bulk_edit.html", context, status_code)

    async def _bulk_plan_page(
        self, request: Request, view: AppModelView, plan: Plan, state: dict[str, Any] | None
    ) -> Response:
        fields = offered_fields(view, request)
        labels = {n: str(fields[n].label or n) if n in fields else n for n in plan.values}
        context = {
            "title": _title(view),
            "view": view,
            "step": "result" if state else "preview",
            "plan": plan,
            "state": state,
            "labels": labels,
            "shown_values": {n: await _shown(view, request, n, v) for n, v in plan.values.items()},
            "sample": [] if state else await self._bulk_sample(request, view, plan),
            "list_url": self._bulk_list_url(request, view, plan.selection),
            "status_url": str(
                request.url_for(
                    f"{self.route_name}:bulk-edit-status", key=view.key, token=plan.token
                )
            ),
            "undo_url": _undo_url(request, self.route_name, state),
        }
        return compat.template_response(self, request, "bulk_edit.html", context)

    async def _bulk_sample(
        self, request: Request, view: AppModelView, plan: Plan
    ) -> list[dict[str, Any]]:
        """About ten rows of the plan: each one's name and its values before and after."""
        keys = plan.pks[:SAMPLE]
        if not keys:
            return []
        query = (await matching(view, request, Selection(tuple(map(str, keys))))).order_by(
            pk_column(view)
        )
        rows = []
        for obj in (await get_session(request).scalars(query)).unique():
            before = {n: await _shown(view, request, n, getattr(obj, n)) for n in plan.values}
            rows.append({"name": await view.repr(obj, request), "before": before})
        return rows

    def _bulk_list_url(self, request: Request, view: AppModelView, selection: Selection) -> str:
        url = str(request.url_for(f"{self.route_name}:list", key=view.key))
        if selection.pks is None and selection.list_query.strip("?"):
            return f"{url}?{selection.list_query.lstrip('?')}"
        return url


def _selection(params: Any) -> Selection:
    """The rows the page is about, as its URL or form names them (400 for none)."""
    if params.get("all") == "1":
        return Selection(None, str(params.get("list_query") or ""))
    pks = tuple(str(pk) for pk in params.getlist("pks"))
    if not pks:
        raise HTTPException(400, gettext("Choose the rows to edit on the list first."))
    return Selection(pks)


async def _shown(view: AppModelView, request: Request, name: str, value: Any) -> str:
    """A value as the detail page shows it, as plain text."""
    field = next((f for f in view.get_fields_list(request) if f.name == name), None)
    if value is None or field is None:
        return "" if value is None else str(value)
    previous = request.state.action
    request.state.action = RequestAction.DETAIL
    try:
        shown = await view.serialize_field_value(value, field, request)
    finally:
        request.state.action = previous
    if isinstance(shown, bool):
        return "yes" if shown else "no"
    if isinstance(shown, list | tuple):
        return ", ".join(str(item) for item in shown)
    return str(shown)


def _field_links(request: Request, fields: Any, kind: str) -> list[str]:
    """The scripts or style sheets (`kind`) the fields' widgets need, once each."""
    links: list[str] = []
    for field in fields:
        for link in getattr(field, kind)(request) or []:
            if link not in links:
                links.append(link)
    return links


def _undo_url(request: Request, route_name: str, state: dict[str, Any] | None) -> str | None:
    """The audit entry whose Revert undoes the whole edit."""
    if not state or not state.get("entry_id"):
        return None
    url = request.url_for(f"{route_name}:detail", key="audit-entry")
    return f"{url}?pk={state['entry_id']}"


def _title(view: AppModelView) -> str:
    """The bulk edit page's heading: "Bulk edit customers"."""
    return gettext("Bulk edit %(things)s") % {"things": in_sentence(view.records_label())}
