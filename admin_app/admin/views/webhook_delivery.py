"""The webhook delivery log, for superusers: each event owed to an endpoint, its attempts,
the last answer and how long it took; dead ones can be delivered again."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette_admin import EnumField, HasOne, IntegerField, StringField, TextAreaField
from starlette_admin.actions import ActionSelection, action, row_action
from starlette_admin.exceptions import ActionFailed
from starlette_admin.flash import flash
from starlette_admin.helpers import on_commit
from starlette_admin.i18n import gettext

from admin_app.admin.base import AppModelView
from admin_app.admin.fields import AwareDateTimeField
from admin_app.models import DeliveryStatus, WebhookDelivery
from admin_app.state import get_session
from admin_app.webhooks import queue
from admin_app.webhooks.dispatcher import get_dispatcher

STATUS_CHOICES = [(status.value, status.value.capitalize()) for status in DeliveryStatus]


class WebhookDeliveryView(AppModelView):
    model = WebhookDelivery
    key = "webhook-delivery"
    label = "Webhook deliveries"
    menu_label = "Webhook deliveries"
    icon = "fa fa-paper-plane"
    menu_group = "Administration"
    superuser_only = True  # bodies hold records of any followed model
    read_only = True
    fields = [
        IntegerField("id", label="ID"),
        EnumField("status", choices=STATUS_CHOICES),
        HasOne("endpoint", key="webhook-endpoint"),
        StringField("event_type", label="Event"),
        StringField("record_id", label="Record"),
        IntegerField("attempts"),
        IntegerField("last_status", label="Response"),
        IntegerField("last_duration_ms", label="Time (ms)"),
        TextAreaField("last_error", label="Error"),
        AwareDateTimeField("created_at", label="Queued"),
        AwareDateTimeField("last_attempt_at", label="Last attempt", exclude_from_list=True),
        AwareDateTimeField("next_attempt_at", label="Next attempt", exclude_from_list=True),
        AwareDateTimeField("delivered_at", label="Delivered"),
        StringField("event_id", label="Webhook-Id", exclude_from_list=True),
        StringField("locked_by", label="Claimed by", exclude_from_list=True),
        TextAreaField("body", exclude_from_list=True),
    ]
    searchable_fields = ["status", "event_type", "record_id", "last_error", "event_id"]
    sortable_fields = ["id", "status", "event_type", "attempts", "last_status", "created_at"]
    fields_default_sort = [("id", True)]
    exporters = ["csv"]
    importers: list[str] = []
    actions = ["redeliver"]
    row_actions = ["view", "redeliver"]

    @action(
        name="redeliver",
        text="Redeliver",
        confirmation="Send the selected events again, with a fresh set of attempts?",
        submit_btn_text="Redeliver",
        icon_class="fa fa-rotate-right",
    )
    async def redeliver_action(self, request: Request, selection: ActionSelection) -> str:
        """Put dead (or waiting) deliveries back in the queue, due now."""
        return await self._redeliver(request, [int(pk) for pk in await selection.pks()])

    @row_action(
        name="redeliver",
        text="Redeliver",
        confirmation="Send this event again, with a fresh set of attempts?",
        submit_btn_text="Redeliver",
        icon_class="fa fa-rotate-right",
    )
    async def redeliver_row_action(self, request: Request, pk: Any) -> str:
        """Put one delivery back in the queue."""
        if self.coerce_pk(pk) is None:
            raise ActionFailed(gettext("This delivery does not exist."))
        return await self._redeliver(request, [int(pk)])

    async def _redeliver(self, request: Request, ids: list[int]) -> str:
        queued = await queue.redeliver(get_session(request), ids)
        if not queued:
            raise ActionFailed(
                gettext("Nothing to redeliver: delivered events are not sent twice.")
            )
        dispatcher = get_dispatcher(request)
        if dispatcher is not None:
            on_commit(request, dispatcher.wake)
        skipped = len(ids) - queued
        counts = {"count": queued, "skipped": skipped}
        message = (
            gettext(
                "%(count)s delivery(ies) queued again (%(skipped)s already delivered, left alone)."
            )
            if skipped
            else gettext("%(count)s delivery(ies) queued again.")
        ) % counts
        flash(request, message, "success")
        return message
