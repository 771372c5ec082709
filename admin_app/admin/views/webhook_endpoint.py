"""Webhook endpoints, for superusers: where changes are POSTed, for which models and events.

Superusers only (`superuser_only`): an endpoint carries any followed model's records to
another server, past every role's scope, so no role can be granted it. The signing
secret is generated on create, kept encrypted, and shown on the endpoint's page only.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette_admin import BooleanField, IntegerField, StringField, URLField
from starlette_admin.actions import row_action
from starlette_admin.exceptions import ActionFailed
from starlette_admin.flash import flash
from starlette_admin.i18n import gettext

from admin_app.admin.base import AppModelView
from admin_app.admin.fields import AwareDateTimeField, ChoiceListField
from admin_app.crypto import UndecryptableError
from admin_app.models import WebhookEndpoint
from admin_app.state import get_session, get_settings
from admin_app.webhooks.keys import seal, unseal
from admin_app.webhooks.signing import new_secret
from admin_app.webhooks.topics import EVENTS

EVENT_CHOICES = [(event, event.capitalize()) for event in EVENTS]


def _http_url(request: Request, field: Any, value: Any, form: dict[str, Any]) -> None:
    parts = urlsplit(str(value or ""))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            gettext("Enter an http:// or https:// address, such as https://example.com/hook.")
        )
    if parts.username or parts.password:
        raise ValueError(gettext("Leave the user name and password out of the address."))


@dataclass
class SigningSecretField(StringField):
    """The endpoint's signing secret, decrypted, on its page (never in lists or exports)."""

    detail_template: str = "fields/detail/secret.html"

    async def parse_obj(self, request: Request, obj: Any) -> Any:
        try:
            return unseal(get_settings(request), obj.secret)
        except UndecryptableError:
            return "(stored under a key that is no longer configured: rotate the secret)"


@dataclass
class TopicsField(ChoiceListField):
    """The models an endpoint follows; the site fills `offered` from its registry."""

    offered: list[tuple[str, str]] = dc_field(default_factory=list)

    def __post_init__(self) -> None:
        self.choices_loader = lambda _request: self.offered
        super().__post_init__()


class WebhookEndpointView(AppModelView):
    model = WebhookEndpoint
    key = "webhook-endpoint"
    label = "Webhook endpoints"
    menu_label = "Webhooks"
    icon = "fa fa-satellite-dish"
    menu_group = "Administration"
    superuser_only = True
    fields = [
        IntegerField("id", label="ID", exclude_from_create=True, exclude_from_edit=True),
        StringField("description", help_text="What receives it, for people.", required=False),
        URLField("url", label="URL", validators=[_http_url], required=True),
        TopicsField("models", required=True, help_text="Whose changes are sent."),
        ChoiceListField("events", required=True, choices=EVENT_CHOICES),
        BooleanField("enabled", help_text="Off: no new events; those queued wait."),
        SigningSecretField(
            "signing_secret",
            label="Signing secret",
            exclude_from_list=True,
            exclude_from_create=True,
            exclude_from_edit=True,
            help_text="Verify each delivery's Webhook-Signature with it: docs/webhooks.md.",
        ),
        AwareDateTimeField(
            "created_at", label="Created", exclude_from_create=True, exclude_from_edit=True
        ),
    ]
    exclude_fields_from_export = ["signing_secret"]
    searchable_fields = ["description", "url"]
    sortable_fields = ["id", "description", "url", "enabled", "created_at"]
    fields_default_sort = [("id", True)]
    importers: list[str] = []
    row_actions = ["view", "edit", "rotate", "delete"]

    def follow_topics(self, choices: list[tuple[str, str]]) -> None:
        """Offer these models (every model in the admin that can be followed)."""
        for field in self.fields:
            if isinstance(field, TopicsField):
                field.offered = choices

    async def before_create(self, request: Request, data: dict[str, Any], obj: Any) -> None:
        await super().before_create(request, data, obj)
        obj.secret = seal(get_settings(request), new_secret())

    @row_action(
        name="rotate",
        text="New secret",
        confirmation="Sign from now on with a new secret? The receiver must be given it.",
        submit_btn_text="New secret",
        icon_class="fa fa-key",
    )
    async def rotate_row_action(self, request: Request, pk: Any) -> str:
        """Replace the signing secret; deliveries not yet sent are signed with the new one."""
        endpoint = await self.find_by_pk(request, pk)
        if endpoint is None:
            raise ActionFailed(gettext("This endpoint does not exist."))
        endpoint.secret = seal(get_settings(request), new_secret())
        await get_session(request).flush()
        message = gettext("A new signing secret was made: it is shown on the endpoint's page.")
        flash(request, message, "success")
        return message
