"""The email outbox in the admin: what was sent, what waits, what died and why; resend."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette_admin import EnumField, IntegerField, StringField, TextAreaField
from starlette_admin.actions import ActionSelection, action, row_action
from starlette_admin.exceptions import ActionFailed
from starlette_admin.flash import flash
from starlette_admin.helpers import on_commit
from starlette_admin.i18n import gettext

from admin_app.admin.base import AppModelView
from admin_app.admin.fields import AwareDateTimeField
from admin_app.email import outbox
from admin_app.email.breaker import BreakerStatus
from admin_app.email.delivery import get_mailer
from admin_app.models import OutboxMessage, OutboxStatus
from admin_app.state import get_session

STATUS_CHOICES = [(status.value, status.value.capitalize()) for status in OutboxStatus]


def _read_only(field: Any) -> Any:
    field.read_only = True
    return field


class OutboxView(AppModelView):
    model = OutboxMessage
    key = "email-outbox"
    label = "Email outbox"
    menu_label = "Email outbox"
    icon = "fa fa-envelope"
    menu_group = "Administration"
    list_template = "email_outbox/list.html"
    fields = [
        IntegerField("id", label="ID"),
        EnumField("status", choices=STATUS_CHOICES),
        StringField("recipient"),
        StringField("subject"),
        StringField("kind", exclude_from_list=True),
        IntegerField("attempts"),
        TextAreaField("last_error", label="Error"),
        AwareDateTimeField("created_at", label="Queued"),
        AwareDateTimeField("next_attempt_at", label="Next attempt", exclude_from_list=True),
        AwareDateTimeField("sent_at", label="Sent"),
        StringField("locked_by", label="Claimed by", exclude_from_list=True),
        StringField("message_id", label="Message-ID", exclude_from_list=True),
        TextAreaField("text_body", label="Text", exclude_from_list=True),
    ]
    searchable_fields = ["recipient", "subject", "status", "kind", "last_error"]
    sortable_fields = ["id", "status", "recipient", "subject", "attempts", "created_at", "sent_at"]
    fields_default_sort = [("id", True)]
    exporters = ["csv"]
    importers: list[str] = []
    read_only = True  # written by the system; superusers, or roles granted `email-outbox:view`
    actions = ["resend"]
    row_actions = ["view", "resend"]

    def breaker_status(self, request: Request) -> BreakerStatus:
        """This process's circuit breaker around SMTP, for the badge above the list."""
        return get_mailer(request).breaker.status()

    @action(
        name="resend",
        text="Resend",
        confirmation="Queue the selected messages again, with a fresh set of attempts?",
        submit_btn_text="Resend",
        icon_class="fa fa-paper-plane",
    )
    async def resend_action(self, request: Request, selection: ActionSelection) -> str:
        """Put dead (or waiting) messages back in the queue, due now."""
        return await self._resend(request, [int(pk) for pk in await selection.pks()])

    @row_action(
        name="resend",
        text="Resend",
        confirmation="Queue this message again, with a fresh set of attempts?",
        submit_btn_text="Resend",
        icon_class="fa fa-paper-plane",
    )
    async def resend_row_action(self, request: Request, pk: Any) -> str:
        """Put one message back in the queue."""
        if self.coerce_pk(pk) is None:
            raise ActionFailed(gettext("This message does not exist."))
        return await self._resend(request, [int(pk)])

    async def _resend(self, request: Request, ids: list[int]) -> str:
        queued = await outbox.resend(get_session(request), ids)
        if not queued:
            raise ActionFailed(gettext("Nothing to resend: sent messages are not sent twice."))
        mailer = get_mailer(request)
        if len(ids) <= mailer.settings.email_batch_size:
            on_commit(request, lambda: mailer.submit(ids))
        else:
            on_commit(request, mailer.wake)
        skipped = len(ids) - queued
        counts = {"count": queued, "skipped": skipped}
        message = (
            gettext("%(count)s message(s) queued again (%(skipped)s already sent, left alone).")
            if skipped
            else gettext("%(count)s message(s) queued again.")
        ) % counts
        flash(request, message, "success")  # starlette-admin shows no returned text
        return message
