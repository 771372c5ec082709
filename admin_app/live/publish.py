"""Changes made through the admin become live messages, once they are committed.

starlette-admin emits `AFTER_{CREATE,EDIT,DELETE}_COMMITTED` on each view's event bus after
the request's transaction commits (batch deletes once per row), so nobody is told
about a change that was rolled back. The service batches what one request emits.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from starlette_admin import BaseModelView
from starlette_admin.events import AdminEvent, EventContext

from admin_app.auth.identity import current_identity
from admin_app.db import utcnow
from admin_app.live.messages import Action, Actor, Change
from admin_app.live.service import find_live

ACTIONS: dict[AdminEvent, Action] = {
    AdminEvent.AFTER_CREATE_COMMITTED: "created",
    AdminEvent.AFTER_EDIT_COMMITTED: "updated",
    AdminEvent.AFTER_DELETE_COMMITTED: "deleted",
}


def publish_admin_changes(views: Iterable[BaseModelView]) -> None:
    """Subscribe to the after-commit events of every view.

    Each view's own bus, not `admin.events`: starlette-admin 1.0.3 connects the
    admin-wide bus only to views added at the top level, never to views inside a
    `DropDown`, which is where all of ours are.
    """
    publishers = {event: _publisher(action) for event, action in ACTIONS.items()}
    for view in views:
        for event, publisher in publishers.items():
            view.events.on(event, publisher)


def _publisher(action: Action) -> Callable[[EventContext], Awaitable[None]]:
    async def publish(ctx: EventContext) -> None:
        live = find_live(ctx.request)
        user = current_identity(ctx.request)
        pk = getattr(ctx, "pk", None)
        if live is None or user is None or pk is None:
            return
        actor = Actor(user.id, user.display_name)
        live.publish(Change(ctx.view_key, (str(pk),), action, actor, utcnow().isoformat()))

    return publish
