"""Permission checks for model views, on every path starlette-admin offers.

starlette-admin asks a view `is_accessible`, `can_view_detail`, `can_create`, `can_edit`,
`can_delete`, `can_export`, `can_import`, `is_action_allowed` and `is_row_action_allowed`
before menus, pages, forms, batch and row actions ("select all matching" included),
exports, imports and relation look-ups; each answer here comes from the user's grants.
Rows are scoped with `scope_query`, applied to the list, count and detail queries.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from typing import Any, ClassVar

from sqlalchemy import Select
from starlette.requests import Request
from starlette_admin import BaseField, RequestAction
from starlette_admin.contrib.sqla import ModelView

from admin_app.auth.permissions import BASE_ACTIONS, Grants, grants
from admin_app.db import Trashable

BUILTIN_ACTIONS = {"delete", "export", "view", "edit", "bulk_edit"}
"""Actions that need no permission of their own (bulk edit needs `edit`: `bulk_edit`)."""
_FIELDS_MEMO = "admin_app.fields"
"""Where a request keeps the fields each view gave it (`get_fields_list`)."""
FORM_ACTIONS = (RequestAction.CREATE, RequestAction.EDIT, RequestAction.INLINE_EDIT)


class PermissionsMixin(ModelView):
    """Every check answered from the request user's roles; superusers pass them all."""

    read_only: ClassVar[bool] = False
    """A view of records the system writes (logs, sessions): nobody creates, edits,
    deletes or imports them here, superusers included, and the grid offers no such boxes."""

    superuser_only: ClassVar[bool] = False
    """A view only superusers reach, whatever roles grant: it defines no permissions, so
    the role grid offers none. For what reaches past every role's limits (webhooks carry
    any model's records to another server)."""

    protected_fields: ClassVar[Sequence[str]] = ()
    """Fields that a role may only change with the extra permission `<key>:edit_<field>`;
    without it they are read-only in forms. Example: `protected_fields = ("price",)`.
    Each also gets `<key>:propose_<field>`: a role holding that instead of `edit_<field>`
    may change the field, but the change waits for approval (`admin_app.admin.approvals`)."""

    proposable_actions: ClassVar[Sequence[str]] = ()
    """Row actions a role may run with `<key>:<action>`, or only ask for with
    `<key>:propose_<action>` (the action then waits for approval). Example:
    `proposable_actions = ("refund",)`."""

    def permission_actions(self) -> list[str]:
        """Every permission this view defines: the six base ones, custom actions, fields."""
        if self.superuser_only:
            return []
        custom = [
            name
            for name in [*(self.actions or []), *(self.row_actions or [])]
            if name not in BUILTIN_ACTIONS
        ]
        fields = [f"edit_{name}" for name in self.protected_fields]
        proposals = [f"propose_{name}" for name in self.proposables()]
        approve = ["approve"] if proposals else []
        base = ("view", "export") if self.read_only else BASE_ACTIONS
        # Deleting from the trash for good: apart from `delete`, which moves to the trash.
        purge = ["purge"] if issubclass(self.model, Trashable) else []
        return [*base, *dict.fromkeys(custom), *fields, *purge, *proposals, *approve]

    def proposables(self) -> list[str]:
        """The fields and actions whose changes a role may propose for approval."""
        if self.superuser_only or self.read_only:
            return []
        return [*self.protected_fields, *self.proposable_actions]

    def proposal_fields(self, request: Request) -> set[str]:
        """Protected fields the user may change only through a change request: they hold
        `propose_<field>` but not `edit_<field>`."""
        return {
            name
            for name in self.protected_fields
            if not self.allows(request, f"edit_{name}") and self.allows(request, f"propose_{name}")
        }

    def allows(self, request: Request, action: str) -> bool:
        """Whether the request's user holds `<key>:<action>` (is a superuser, for
        `superuser_only` views)."""
        held = grants(request)
        return held.superuser if self.superuser_only else held.allows(str(self.key), action)

    def is_accessible(self, request: Request) -> bool:
        return self.allows(request, "view")

    def can_view_detail(self, request: Request) -> bool:
        return self.allows(request, "view")

    def can_create(self, request: Request) -> bool:
        return not self.read_only and self.allows(request, "create")

    def can_edit(self, request: Request) -> bool:
        """Whether the edit form opens: with `edit`, or with a field to propose changes to."""
        if self.read_only:
            return False
        return self.allows(request, "edit") or bool(self.proposal_fields(request))

    def can_delete(self, request: Request) -> bool:
        return not self.read_only and self.allows(request, "delete")

    def can_export(self, request: Request) -> bool:
        return self.allows(request, "export")

    def can_import(self, request: Request) -> bool:
        return not self.read_only and self.allows(request, "import")

    async def is_action_allowed(self, request: Request, name: str) -> bool:
        if name in BUILTIN_ACTIONS:
            allowed: bool = await super().is_action_allowed(request, name)
            return allowed
        return self.allows(request, name)

    async def is_row_action_allowed(self, request: Request, name: str) -> bool:
        if name in BUILTIN_ACTIONS:
            allowed: bool = await super().is_row_action_allowed(request, name)
            return allowed
        proposable = name in self.proposable_actions
        return self.allows(request, name) or (
            proposable and self.allows(request, f"propose_{name}")
        )

    async def change_refusal(self, request: Request, obj: Any) -> str | None:
        """Why the user may not change or delete this record, or None. Asked before its
        edit form opens, before a save, and before a delete is offered; the default
        refuses nothing beyond the view's permissions."""
        return None

    def readonly_fields(self, request: Request) -> set[str]:
        """Protected fields the user may see but not change (directly)."""
        return {name for name in self.protected_fields if not self.allows(request, f"edit_{name}")}

    def get_fields_list(
        self,
        request: Request,
        *,
        include_nested: bool = False,
        action: RequestAction | None = None,
    ) -> Sequence[BaseField]:
        """The fields the user may reach for `action`, worked out once per request.

        They depend on the view, the action and the user's grants, which do not change
        within a request; starlette-admin asks several times per page, and a file
        import three times per row (each asking `can_access_field` of every field)."""
        action = action or request.state.action
        known: dict[tuple[int, bool, Any], list[BaseField]]
        known = request.scope.setdefault(_FIELDS_MEMO, {})
        key = (id(self), include_nested, action)
        fields = known.get(key)
        if fields is None:
            fields = known[key] = self._reachable_fields(request, include_nested, action)
        return list(fields)

    def _reachable_fields(
        self, request: Request, include_nested: bool, action: RequestAction | None
    ) -> list[BaseField]:
        fields = super().get_fields_list(request, include_nested=include_nested, action=action)
        if action not in FORM_ACTIONS:
            return list(fields)
        if action == RequestAction.CREATE:
            proposed: set[str] = set()  # a record that does not exist yet has nothing to propose
            locked = self.readonly_fields(request)
        elif self.allows(request, "edit"):
            proposed = self.proposal_fields(request)
            locked = self.readonly_fields(request) - proposed
        else:  # the form opened for proposals only: everything else stays as it is
            proposed = self.proposal_fields(request)
            locked = {field.name for field in fields} - proposed
        return [
            _read_only(f) if f.name in locked else _proposed(f) if f.name in proposed else f
            for f in fields
        ]

    def scope_query(
        self, request: Request | None, stmt: Select[Any], grants_: Grants
    ) -> Select[Any]:
        """Narrow a query to the rows the user may reach. Default: every row. `request` is
        None when the live feed asks, outside any request: decide from `grants_`."""
        return stmt

    def scope_key(self, grants_: Grants) -> str | None:
        """Everything `scope_query` reads of `grants_`, as text; None when every row is
        open. Users with the same key reach the same rows: the live feed checks a change
        once per key (`admin_app.live.scopes`). Override it with `scope_query` when that
        reads more than this view's own scope."""
        scopes = grants_.scope(str(self.key))
        return None if scopes is None else json.dumps(scopes, sort_keys=True)

    def get_list_query(self, request: Request) -> Select[Any]:
        return self.scope_query(request, super().get_list_query(request), grants(request))

    def get_count_query(self, request: Request) -> Select[Any]:
        return self.scope_query(request, super().get_count_query(request), grants(request))


def _proposed(field: BaseField) -> BaseField:
    """The field editable, saying that a change to it waits for approval."""
    marked = copy.copy(field)
    note = "A change here is sent for approval; it applies once someone approves it."
    marked.help_text = f"{field.help_text} {note}" if field.help_text else note
    return marked


def _read_only(field: BaseField) -> BaseField:
    """The field shown but not editable: read-only, and disabled too, since a checkbox,
    select or relation picker ignores `readonly` and would look editable."""
    locked = copy.copy(field)
    locked.read_only = True
    locked.disabled = True
    return locked
