"""Change requests: proposed changes waiting for a second pair of eyes, and their decisions.

The list needs `change-request:view`, like any list; its rows are the requests about
models the user may propose changes to or approve, within the role's row scope there.
Deciding is a row action on the request's page (approve or reject, with a comment),
offered to a holder of `<model>:approve` who is not the proposer
(`admin_app.admin.approvals`).
"""

from __future__ import annotations

import json
from typing import Any

from markupsafe import escape
from sqlalchemy import ColumnElement, Select, String, and_, cast, false, or_, select
from starlette.requests import Request
from starlette_admin import EnumField, IntegerField, RequestAction, StringField, TextAreaField
from starlette_admin.actions import row_action
from starlette_admin.exceptions import ActionFailed
from starlette_admin.fields import BaseField
from starlette_admin.flash import flash
from starlette_admin.i18n import gettext

from admin_app.admin import approvals
from admin_app.admin.base import AppModelView
from admin_app.admin.changes import ChangeReader, ChangesField
from admin_app.admin.fields import AwareDateTimeField
from admin_app.auth.identity import current_identity
from admin_app.auth.permissions import Grants, grants
from admin_app.db import table_of
from admin_app.models import AuditEntry, ChangeRequest, RequestStatus

STATUS_CHOICES = [(status.value, status.value.capitalize()) for status in RequestStatus]
COMMENT_LIMIT = 2000


def _comment_form(required: bool) -> str:
    need = " required" if required else ""
    hint = "Say why (required)." if required else "Optional: a note for the proposer."
    return (
        '<form><div class="mb-2"><label class="form-label" for="decision-comment">Comment</label>'
        f'<textarea class="form-control" id="decision-comment" name="comment" rows="3" '
        f'maxlength="{COMMENT_LIMIT}" aria-describedby="decision-comment-hint"{need}></textarea>'
        f'<div class="form-hint" id="decision-comment-hint">{escape(hint)}</div></div></form>'
    )


class ChangeRequestView(AppModelView):
    model = ChangeRequest
    key = approvals.REQUESTS_KEY
    label = "Change requests"
    menu_label = "Change requests"
    icon = "fa fa-code-pull-request"
    menu_group = "Administration"
    read_only = True
    fields = [
        IntegerField("id", label="#"),
        EnumField("status", choices=STATUS_CHOICES),
        StringField("model", label="Model"),
        StringField("record_repr", label="Record"),
        ChangesField("changes", label="Proposed change"),
        StringField("proposer", label="Proposed by"),
        AwareDateTimeField("proposed_at", label="Proposed"),
        StringField("decider", label="Decided by"),
        AwareDateTimeField("decided_at", label="Decided"),
        TextAreaField("comment", exclude_from_list=True),
        StringField("record_pk", label="Record id", exclude_from_list=True),
        IntegerField("record_version", label="Record version", exclude_from_list=True),
    ]
    searchable_fields = ["status", "model", "proposer", "record_repr", "decider", "proposed_at"]
    sortable_fields = ["id", "status", "model", "proposer", "proposed_at", "decided_at"]
    fields_default_sort = [("id", True)]
    exporters = ["csv"]
    importers: list[str] = []
    row_actions = ["view", "approve", "reject"]
    targets: dict[str, AppModelView] = {}
    """The views whose changes may be proposed, by key; filled in when the admin is built."""
    reader = ChangeReader(())
    """Reads the proposed changes in the words of the record's view; set at build time."""

    def _concerns(self, held: Grants, key: str) -> bool:
        """Whether `held` may propose or approve changes to the records of view `key`."""
        view = self.targets.get(key)
        if view is None:
            return False
        wanted = ("approve", *(f"propose_{name}" for name in view.proposables()))
        return any(held.allows(key, action) for action in wanted)

    def scope_query(
        self, request: Request | None, stmt: Select[Any], grants_: Grants
    ) -> Select[Any]:
        """The requests about records the user may propose or approve changes to, within
        each model's row scope."""
        if grants_.superuser:
            return stmt
        allowed = [
            self._within(request, key, grants_)
            for key in self.targets
            if self._concerns(grants_, key)
        ]
        return stmt.where(or_(*allowed) if allowed else false())

    def scope_key(self, grants_: Grants) -> str | None:
        """The models whose requests `grants_` reach, each with its row scope there: the
        same rule as `scope_query`, so the live feed tells of a request only those whose
        scope on the request's record holds that record."""
        if grants_.superuser:
            return None
        reach = {
            key: view.scope_key(grants_)
            for key, view in self.targets.items()
            if self._concerns(grants_, key)
        }
        return json.dumps(reach, sort_keys=True)

    def _within(self, request: Request | None, key: str, grants_: Grants) -> ColumnElement[bool]:
        condition = ChangeRequest.model == key
        if grants_.scope(key) is None:
            return condition
        view = self.targets[key]
        pk = getattr(view.model, view.pk_attr or "id")
        reachable = view.scope_query(request, select(cast(pk, String)), grants_)
        return and_(condition, ChangeRequest.record_pk.in_(reachable))

    async def serialize_field_value(self, value: Any, field: BaseField, request: Request) -> Any:
        """The proposed change as a before/after table, in the words of the record's view."""
        if not isinstance(field, ChangesField) or not isinstance(value, ChangeRequest):
            return await super().serialize_field_value(value, field, request)
        target = self.targets.get(value.model)
        table = table_of(target.model).name if target is not None else value.model
        as_entry = AuditEntry(model=table, action="update", changes=value.changes or {})
        if request.state.action == RequestAction.LIST:
            return self.reader.labels(as_entry)
        return (await self.reader.read(request, [as_entry]))[0]

    async def is_row_action_allowed(self, request: Request, name: str) -> bool:
        if name in ("approve", "reject"):
            held = grants(request)
            return any(held.allows(key, "approve") for key in self.targets)
        allowed: bool = await super().is_row_action_allowed(request, name)
        return allowed

    async def is_row_action_allowed_for_obj(self, request: Request, name: str, obj: Any) -> bool:
        if name in ("approve", "reject"):
            return self.may_decide(request, obj)
        allowed: bool = await super().is_row_action_allowed_for_obj(request, name, obj)
        return allowed

    def may_decide(self, request: Request, filed: ChangeRequest) -> bool:
        """A pending request, about a model the user may approve, proposed by someone else."""
        user = current_identity(request)
        target = self.targets.get(filed.model)
        return (
            filed.status == RequestStatus.PENDING
            and user is not None
            and filed.proposer_id != user.id
            and target is not None
            and target.allows(request, "approve")
        )

    @row_action(
        name="approve",
        text="Approve",
        confirmation="Apply this change? It is applied only if the record has not changed since.",
        header="Approve the change",
        submit_btn_text="Approve",
        submit_btn_class="btn btn-success",
        icon_class="fa fa-check",
        form=_comment_form(required=False),
        exclude_from_list=True,
        modal_size="md",
    )
    async def approve_action(self, request: Request, pk: Any) -> str:
        """Approve the request: its change is applied, or it is marked stale."""
        return await self._decide(request, pk, approve=True)

    @row_action(
        name="reject",
        text="Reject",
        confirmation="Reject this change? The record stays as it is.",
        header="Reject the change",
        submit_btn_text="Reject",
        submit_btn_class="btn btn-danger",
        icon_class="fa fa-xmark",
        form=_comment_form(required=True),
        exclude_from_list=True,
        modal_size="md",
    )
    async def reject_action(self, request: Request, pk: Any) -> str:
        """Reject the request, saying why."""
        return await self._decide(request, pk, approve=False)

    async def _decide(self, request: Request, pk: Any, *, approve: bool) -> str:
        filed = await self.find_by_pk(request, pk)
        if filed is None:
            raise ActionFailed(
                gettext("This change request does not exist, or is not yours to see.")
            )
        target = self.targets.get(filed.model)
        if target is None or not self.may_decide(request, filed):
            raise ActionFailed(gettext("You may not decide this change request."))
        comment = str((await request.form()).get("comment") or "").strip()
        if "\x00" in comment:
            raise ActionFailed(
                gettext("The comment holds a character that cannot be stored (NUL).")
            )
        if len(comment) > COMMENT_LIMIT:
            raise ActionFailed(
                gettext("The comment is too long: at most %(count)s characters.")
                % {"count": COMMENT_LIMIT}
            )
        if not approve and not comment:
            raise ActionFailed(gettext("Say why you reject the change: a comment is required."))
        try:
            decision = await approvals.decide(
                request, target, filed, approve=approve, comment=comment
            )
        except approvals.DecisionError as error:
            raise ActionFailed(str(error)) from None
        message = _outcome(decision.request)
        flash(request, message, "success" if decision.applied or not approve else "warning")
        return message


def _outcome(filed: ChangeRequest) -> str:
    if filed.status == RequestStatus.APPROVED:
        return gettext("Approved: the change to %(record)s is applied.") % {
            "record": filed.record_repr
        }
    if filed.status == RequestStatus.REJECTED:
        return gettext("Rejected: %(record)s stays as it is.") % {"record": filed.record_repr}
    return gettext(
        "Not applied: %(record)s changed since this was proposed, so the request is now "
        "stale. Ask for a new proposal if the change is still wanted."
    ) % {"record": filed.record_repr}
