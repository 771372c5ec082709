"""Four-eyes approval: changes a role may only propose wait for someone else to approve them.

A role holding `<key>:propose_<field>` but not `<key>:edit_<field>` may change that
field in the edit form (or through the API), but the save keeps the field as it was and
files a change request instead (`ChangeRequest`). The other fields changed in the same
save are saved at once, as usual: only the sensitive change waits.

A user holding `<key>:approve` who is not the proposer decides the request
(`decide`). Approving applies the change with the record's version check: if the record
changed since the proposal, the request becomes `stale` and nothing is applied. Claiming
the request is one conditional UPDATE (`WHERE status = 'pending'`), so two approvals at
the same moment apply it once. Every step is in the audit log (`propose`, `approve`,
`reject`, `stale`), on the live feed, and emailed through the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, inspect, select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError
from starlette.requests import Request
from starlette_admin.events import AdminEvent
from starlette_admin.flash import flash
from starlette_admin.helpers import on_commit
from starlette_admin.i18n import gettext

from admin_app.audit.context import audit_as
from admin_app.audit.recorder import AUDIT_TABLE, entry
from admin_app.audit.values import from_json, to_json
from admin_app.auth.identity import Identity, current_identity
from admin_app.auth.permissions import load_grants
from admin_app.db import utcnow
from admin_app.email.delivery import deliver_after_commit
from admin_app.email.notices import Reach, change_decided, change_proposed
from admin_app.live.messages import Action, Actor, Change
from admin_app.live.service import find_live
from admin_app.models import AdminUser, ChangeRequest, RequestStatus
from admin_app.state import get_session, get_settings

if TYPE_CHECKING:  # the views' base installs these hooks
    from admin_app.admin.permissions import PermissionsMixin

PROPOSALS = "admin_app.proposals"
"""Where a save keeps the changes it held back, until the record is flushed."""

AUDIT_ACTIONS = ("propose", "approve", "reject", "stale")
"""What the audit log calls each step of a request."""


@dataclass
class Decision:
    """How a decision ended: the request as it now is."""

    request: ChangeRequest
    applied: bool


class DecisionError(Exception):
    """A decision that cannot be made; the message says why, for the user."""


def _already(status: RequestStatus) -> str:
    """Why a request that is no longer pending cannot be decided."""
    if status == RequestStatus.APPROVED:
        return gettext("This request is already approved.")
    if status == RequestStatus.REJECTED:
        return gettext("This request is already rejected.")
    return gettext("This request is already stale.")


def install(view: PermissionsMixin) -> None:
    """Hold back proposed changes on every save of `view`, and file them once it is flushed."""
    if not view.protected_fields:
        return

    async def hold_back(context: Any) -> None:
        proposed = view.proposal_fields(context.request)
        changes = _held_back(context.obj, proposed) if proposed else {}
        if changes:
            others = get_session(context.request).is_modified(context.obj)
            context.request.scope.setdefault(PROPOSALS, {})[id(context.obj)] = (changes, others)

    async def file(context: Any) -> None:
        held = context.request.scope.get(PROPOSALS, {}).pop(id(context.obj), None)
        if held:
            changes, others = held
            filed = await propose(context.request, view, context.obj, changes)
            await tell(context.request, view, filed)
            labels = ", ".join(_label(view, name) for name in changes)
            also = (
                gettext("Your other changes were saved.")
                if others
                else gettext("Nothing else changed.")
            )
            said = gettext(
                "Your change to %(fields)s awaits approval (%(request)s); it applies once "
                "someone approves it."
            ) % {"fields": labels, "request": filed}
            _tell_user(context.request, f"{said} {also}")

    view.events.on(AdminEvent.BEFORE_EDIT, hold_back)
    view.events.on(AdminEvent.AFTER_EDIT, file)


async def propose_action(
    request: Request, view: PermissionsMixin, obj: Any, action: str, changes: dict[str, Any]
) -> ChangeRequest | None:
    """Run by a row action that may be proposed: None if the user may run it (the caller
    then makes `changes` itself), else the change request filed for it, everyone told."""
    if view.allows(request, action):
        return None
    before = {
        name: [to_json(getattr(obj, name)), to_json(value)] for name, value in changes.items()
    }
    filed = await propose(request, view, obj, before, action)
    await tell(request, view, filed)
    return filed


def _tell_user(request: Request, message: str) -> None:
    """A notice on the next admin page (the JSON API shows none: its clients find the
    request among the change requests)."""
    try:
        flash(request, message, "warning")
    except RuntimeError:  # no flash messages on this path (the JSON API)
        return


def _held_back(obj: Any, names: set[str]) -> dict[str, list[Any]]:
    """The changes to `names`, as `[before, after]`; the record keeps its stored values."""
    state = inspect(obj)
    changes: dict[str, list[Any]] = {}
    for name in sorted(names):
        history = state.attrs[name].history
        if not history.added or not history.deleted or history.added[0] == history.deleted[0]:
            continue
        before, after = history.deleted[0], history.added[0]
        changes[name] = [to_json(before), to_json(after)]
        set_committed_value(obj, name, before)
    return changes


def _label(view: PermissionsMixin, name: str) -> str:
    field = next((f for f in view.fields if f.name == name), None)
    return str(field.label) if field is not None and field.label else name


async def propose(
    request: Request,
    view: PermissionsMixin,
    obj: Any,
    changes: dict[str, list[Any]],
    action: str = "edit",
) -> ChangeRequest:
    """File a change request for `obj`, at its current version, by the request's user:
    `changes` as `{field: [now, proposed]}`, made by `action` (`edit`, or a row action's
    name such as `refund`)."""
    user = current_identity(request)
    filed = ChangeRequest(
        model=str(view.key),
        record_pk=str(await view.get_pk_value(request, obj)),
        record_repr=str(obj)[:200],
        action=action,
        changes=changes,
        record_version=getattr(obj, "version", None),
        status=RequestStatus.PENDING,
        proposer_id=user.id if user else None,
        proposer=(user.display_name if user else "")[:200],
        decider="",
        comment="",
        proposed_at=utcnow(),
    )
    db = get_session(request)
    with audit_as("propose", f"{view.key} #{filed.record_pk}"):
        db.add(filed)
        await db.flush()
    return filed


async def decide(
    request: Request,
    view: PermissionsMixin,
    filed: ChangeRequest,
    *,
    approve: bool,
    comment: str,
) -> Decision:
    """Approve or reject `filed` as the request's user; approval applies it if the record
    still has the version it was proposed on, and marks it stale otherwise."""
    user = current_identity(request)
    if user is None or filed.proposer_id == user.id:
        raise DecisionError(gettext("You proposed this change: someone else must decide it."))
    if filed.status != RequestStatus.PENDING:
        raise DecisionError(_already(filed.status))
    db = get_session(request)
    target = await _target(request, view, filed)
    outcome = RequestStatus.REJECTED
    if approve:
        fresh = target is not None and getattr(target, "version", None) == filed.record_version
        outcome = RequestStatus.APPROVED if fresh else RequestStatus.STALE
    await _claim(request, filed, outcome, user, comment)
    applied = False
    if outcome == RequestStatus.APPROVED and target is not None:
        applied = await _apply(request, view, target, filed)
        if not applied:
            await _restate(request, filed, RequestStatus.STALE)
    await db.refresh(filed)
    await _log(request, filed, _verb(filed.status), comment)
    await tell(request, view, filed)
    return Decision(filed, applied)


async def _target(request: Request, view: PermissionsMixin, filed: ChangeRequest) -> Any:
    """The record the request changes, if it still exists."""
    pk = view.coerce_pk(filed.record_pk) if hasattr(view, "coerce_pk") else filed.record_pk
    return None if pk is None else await get_session(request).get(view.model, pk)


async def _claim(
    request: Request, filed: ChangeRequest, outcome: RequestStatus, user: Identity, comment: str
) -> None:
    """Decide the request if it is still pending; one of two decisions at once wins."""
    claimed = await get_session(request).execute(
        update(ChangeRequest)
        .where(ChangeRequest.id == filed.id, ChangeRequest.status == RequestStatus.PENDING)
        .values(
            status=outcome,
            decider_id=user.id,
            decider=user.display_name[:200],
            comment=comment,
            decided_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        raise DecisionError(
            gettext("Someone else decided this request a moment ago; nothing was changed.")
        )


async def _restate(request: Request, filed: ChangeRequest, status: RequestStatus) -> None:
    await get_session(request).execute(
        update(ChangeRequest)
        .where(ChangeRequest.id == filed.id)
        .values(status=status)
        .execution_options(synchronize_session=False)
    )


async def _apply(
    request: Request, view: PermissionsMixin, target: Any, filed: ChangeRequest
) -> bool:
    """Write the proposed values; False if the record changed meanwhile (its version)."""
    db = get_session(request)
    columns = inspect(view.model).columns
    try:
        async with db.begin_nested():
            for name, (_before, after) in (filed.changes or {}).items():
                setattr(target, name, from_json(columns[name], after))
            await db.flush()
    except StaleDataError:
        return False
    return True


def _verb(status: RequestStatus) -> str:
    return {
        RequestStatus.APPROVED: "approve",
        RequestStatus.REJECTED: "reject",
        RequestStatus.STALE: "stale",
    }.get(status, "propose")


async def _log(request: Request, filed: ChangeRequest, action: str, comment: str) -> None:
    """One audit entry for the decision (the claim is plain SQL, which the recorder
    does not see)."""
    changes: dict[str, Any] = {"status": ["pending", filed.status.value]}
    if comment:
        changes["comment"] = [None, comment]
    row = entry(action, filed, changes)
    row["note"] = f"{filed.model} #{filed.record_pk}"
    await get_session(request).execute(insert(AUDIT_TABLE), [row])


REQUESTS_KEY = "change-request"
"""The admin key of the change requests' own view."""


async def tell(request: Request, view: PermissionsMixin, filed: ChangeRequest) -> None:
    """Tell the people concerned, once committed: on the live feed (whoever may see the
    request in the change requests' list, so only those whose row scope holds its
    record: `ChangeRequestView.scope_key`), and by email: the approvers of a new request
    whose row scope holds its record, the proposer of a decided one."""
    settings = get_settings(request)
    db = get_session(request)
    if filed.status == RequestStatus.PENDING:
        rows = await change_proposed(db, settings, request, filed, _reach(request, view, filed))
    else:
        rows = await change_decided(db, settings, request, filed)
    for row in rows:
        deliver_after_commit(request, row)
    live, user = find_live(request), current_identity(request)
    if live is None or user is None:
        return
    action: Action = "created" if filed.status == RequestStatus.PENDING else "updated"
    actor = Actor(user.id, user.display_name)
    changes = [Change(REQUESTS_KEY, (str(filed.id),), action, actor, utcnow().isoformat())]
    if filed.status == RequestStatus.APPROVED:
        at = utcnow().isoformat()
        changes.append(Change(filed.model, (filed.record_pk,), "updated", actor, at))

    def publish() -> None:
        for change in changes:
            live.publish(change)

    on_commit(request, publish)


def _reach(request: Request, view: PermissionsMixin, filed: ChangeRequest) -> Reach:
    """Whether `filed`'s record is within an account's row scope on `view`, as the
    change requests' own list decides it."""
    db = get_session(request)
    column = getattr(view.model, getattr(view, "pk_attr", None) or "id")
    pk = view.coerce_pk(filed.record_pk) if hasattr(view, "coerce_pk") else filed.record_pk

    async def reaches(user: AdminUser) -> bool:
        held = await load_grants(db, Identity.of(user))
        if held.scope(str(view.key)) is None:
            return True
        found = view.scope_query(request, select(column).where(column == pk), held)
        return await db.scalar(found) is not None

    return reaches
