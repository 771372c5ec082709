"""The "Bulk edit" batch action of every list: it opens the bulk edit page for the selection.

The action is offered to whoever may edit the model directly and has a field to set
(`bulk_edit.fields.may_bulk_edit`); it needs no permission of its own. It posts, as
every batch action does, the checked keys or "every row matching" with the list's
query string, and answers with a redirect to `GET /admin/<key>/bulk-edit`, which
carries the same selection (`BulkEditPages`). "Every row matching" is not capped at
`action_select_all_limit`, as other batch actions are: the rows are never loaded at once.
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette_admin.actions import ActionSelection, action
from starlette_admin.contrib.sqla import ModelView
from starlette_admin.exceptions import ActionFailed
from starlette_admin.i18n import gettext

from admin_app.admin import compat
from admin_app.bulk_edit.fields import may_bulk_edit

BULK_EDIT = "bulk_edit"


class BulkEditActionMixin(ModelView):
    """Adds the "Bulk edit" batch action."""

    @action(
        name=BULK_EDIT,
        text="Bulk edit",
        icon_class="fa fa-pen-to-square",
        custom_response=True,
    )
    async def bulk_edit_action(self, request: Request, selection: ActionSelection) -> Response:
        """Open the bulk edit page for the checked rows, or every row matching the list."""
        route = f"{compat.admin_of(self).route_name}:bulk-edit"
        url = request.url_for(route, key=self.key)
        if selection.is_select_all:
            query = [("all", "1"), ("list_query", request.query_params.get("_list_query", ""))]
        else:
            query = [("pks", str(pk)) for pk in await selection.pks()]
        origin = compat.requested_origin(request)
        if origin:
            query.append((compat.ORIGIN_PARAM, origin))
        return RedirectResponse(f"{url}?{urlencode(query)}", status_code=303)

    async def handle_action(
        self, request: Request, selection: ActionSelection, name: str
    ) -> Response | None:
        """As starlette-admin's, but "every row matching" is not capped by
        `action_select_all_limit` for a bulk edit: its rows are never loaded at once."""
        if name != BULK_EDIT:
            handled: Response | None = await super().handle_action(request, selection, name)
            return handled
        if not await self.is_action_allowed(request, name):
            raise ActionFailed(gettext("You may not edit these records."))
        if not selection.is_select_all and not await selection.pks():
            raise ActionFailed(gettext("Choose the rows to edit first."))
        response: Response = await self.bulk_edit_action(request, selection)
        return response

    async def is_action_allowed(self, request: Request, name: str) -> bool:
        if name == BULK_EDIT:
            return may_bulk_edit(self, request)
        allowed: bool = await super().is_action_allowed(request, name)
        return allowed
