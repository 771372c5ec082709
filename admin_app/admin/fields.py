"""Fields this admin adds to starlette-admin's: an image stored by path in the media store."""

from __future__ import annotations

import json
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import datetime
from decimal import Decimal
from pathlib import PurePosixPath
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette_admin.fields import (
    BaseField,
    DateTimeField,
    DecimalField,
    EnumField,
    ImageField,
    JSONField,
    StringField,
)
from starlette_admin.i18n import get_database_tzinfo, get_locale, gettext
from starlette_admin.types import RequestAction

from admin_app.admin.devices import device_name
from admin_app.auth.permissions import BASE_ACTIONS
from admin_app.languages import format_money
from admin_app.media import ACCEPT, IMAGE_TYPES, sniff_image
from admin_app.templating import static_url


@dataclass
class ChoiceListField(EnumField):
    """Several choices (`multiple=True`) read as "Orders, Customers" in lists, on pages and
    in exports, rather than as a Python list; forms get the values as before."""

    multiple: bool = True

    async def serialize_value(self, request: Request, value: Any) -> Any:
        shown = await super().serialize_value(request, value)
        if request.state.action.is_form() or not isinstance(shown, list):
            return shown
        return ", ".join(str(item) for item in shown)


@dataclass
class DeviceField(StringField):
    """A stored User-Agent shown as "Chrome 131 on Linux", the string itself in a tooltip
    (lists) or beneath (detail). Searches and exports use the stored string."""

    list_template: str = "fields/list/device.html"
    detail_template: str = "fields/detail/device.html"

    async def serialize_value(self, request: Request, value: Any) -> Any:
        return {"name": device_name(str(value)), "raw": str(value)}


def media_url(request: Request, name: str) -> str:
    """The admin URL that serves a stored file."""
    return str(request.url_for("admin:media", name=name))


def _looks_like_an_image(request: Request, field: Any, value: Any, form: dict[str, Any]) -> None:
    if isinstance(value, UploadFile):
        value.file.seek(0)
        head = value.file.read(16)
        value.file.seek(0)
        if sniff_image(head) is None:
            raise ValueError(gettext("Upload a PNG, JPEG, GIF or WebP image."))


@dataclass
class MediaImageField(ImageField):
    """An image upload whose column holds a path in the media store, like `products/ab12.png`.

    The view saves the upload (see `ProductView.before_create`); this field only
    checks it and renders the stored path as an image.
    """

    accept: str | None = ACCEPT

    def __post_init__(self) -> None:
        super().__post_init__()
        self.validators = [_looks_like_an_image, *self.validators]

    async def serialize_value(self, request: Request, value: Any) -> Any:
        if not isinstance(value, str):
            return await super().serialize_value(request, value)
        suffix = PurePosixPath(value).suffix.lstrip(".")
        return {
            "url": media_url(request, value),
            "filename": PurePosixPath(value).name,
            "content_type": IMAGE_TYPES.get(suffix, "application/octet-stream"),
        }


class NotJSON(str):
    """Form input that did not parse as JSON, kept so the form can show it with an error."""


def _a_json_object(request: Request, field: Any, value: Any, form: dict[str, Any]) -> None:
    if not isinstance(value, dict):
        raise ValueError(gettext('Enter a JSON object, such as {"colour": "red"}.'))


def _a_finite_number(request: Request, field: Any, value: Any, form: dict[str, Any]) -> None:
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError(gettext("Enter a number."))


@dataclass
class MoneyField(DecimalField):
    """An amount of money: a decimal that is a number ("NaN" and "Infinity" parse as
    decimals, and starlette-admin's min/max checks then fail with a 500). Lists and
    detail pages show it as the viewer's language writes an amount (`€1,234.50`,
    `1 234,50 €`); forms and exports keep the plain number."""

    currency: str = "EUR"
    """The ISO 4217 code of the amounts (the store's prices are in euros)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.validators = [_a_finite_number, *self.validators]

    async def serialize_value(self, request: Request, value: Any) -> str:
        if getattr(request.state, "action", None) in (RequestAction.LIST, RequestAction.DETAIL):
            return format_money(value, self.currency)
        return str(value)


class JSONObjectField(JSONField):
    """A column holding a JSON object (`Mapped[dict]`).

    starlette-admin's JSONField turns an untouched editor into JSON `null` and bad
    JSON into `None`, silently; here an empty editor saves `{}` and anything that is
    not an object is refused at the field.
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        self.validators = [_a_json_object, *self.validators]

    async def parse_form_data(self, request: Request, form_data: FormData) -> Any:
        raw = form_data.get(self.id)
        text = raw.strip() if isinstance(raw, str) else ""
        if text in ("", "null"):
            return {}
        try:
            return json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: nested thousands deep
            return NotJSON(text)


@dataclass
class AwareDateTimeField(DateTimeField):
    """A date-time input that hands the model a timezone-aware value.

    starlette-admin converts the browser's local time to the database timezone and
    then drops the zone; the models store aware UTC timestamps, so it is put back.
    Seconds are kept, fractions dropped, as `datetime-local` inputs expect.
    """

    step: str | None = "1"

    async def parse_form_data(self, request: Request, form_data: FormData) -> datetime | None:
        value = await super().parse_form_data(request, form_data)
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=get_database_tzinfo())
        return value

    async def serialize_value(self, request: Request, value: Any) -> str:
        if isinstance(value, datetime):
            value = value.replace(microsecond=0)
        return await super().serialize_value(request, value)

    def additional_js_links(self, request: Request) -> list[str]:
        """The date picker's scripts; its words in a language starlette-admin has none
        for (Arabic) from ours (`CALENDARS`), not from a link that answers 404."""
        own = CALENDARS.get(get_locale())
        theirs = f"/i18n/flatpickr/{get_locale()}.js"
        links: list[str] = super().additional_js_links(request)
        return [static_url(own) if own and theirs in link else link for link in links]


CALENDARS = {"ar": "flatpickr-ar.js"}
"""The date picker's words for the languages starlette-admin ships none for (static/)."""


@dataclass
class PermissionMatrixField(BaseField):
    """A role's permissions as a grid: one row per model, one checkbox per action.

    `catalog` is filled in when the admin is built, from every registered view, so a
    model added through the registry gets its permissions on this screen automatically.
    """

    catalog: list[tuple[str, str, list[str]]] = dc_field(default_factory=list)
    form_template: str = "fields/form/permissions.html"
    detail_template: str = "fields/detail/permissions.html"
    list_template: str = "fields/list/permissions.html"

    def known_codes(self) -> set[str]:
        return {f"{key}:{action}" for key, _label, actions in self.catalog for action in actions}

    async def parse_form_data(self, request: Request, form_data: FormData) -> list[str]:
        known = self.known_codes()
        return sorted({str(v) for v in form_data.getlist(self.id) if str(v) in known})

    async def serialize_value(self, request: Request, value: Any) -> Any:
        return sorted(value or [])

    def all_actions(self) -> list[str]:
        """Column order for the grid: base actions first, then the rest as they appear."""
        ordered: dict[str, None] = dict.fromkeys(BASE_ACTIONS)
        for _key, _label, actions in self.catalog:
            ordered.update(dict.fromkeys(actions))
        return list(ordered)
