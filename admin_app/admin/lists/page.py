"""A list page's shell, rendered once per user and URL, with its rows filled in per request.

starlette-admin's list page is a large template (layout, menu, toolbar, filter builder,
column chooser, modals, scripts): about 40% of a list request's CPU. Everything in it
but the select-all banner, the rows, the summary, the page links and the row total is
a function of who asks and what they ask for: the URL, the user and their permissions,
the locale and time zone. So `templates/admin/list.html` marks those places as slots
(`slot("rows")` …), the page is rendered once with the markers in it, split at them,
and kept; each request renders only the slots and joins.

Every list request goes through the same split and join, so the cached path is the
tested path. The pages of one list (`after=`, `before=`, `last=1`) share a shell: only
the `_origin` that links back to the page differs, and it is cut out like a slot (a
shell that mentions its position anywhere else is not kept). What is never reused:
- a page that shows flash messages (they are shown once);
- the CSP nonce and the CSRF token: they are cut out of the shell like slots and
  filled per request;
- views with their own `list_template`, which may show other changing state (the
  email outbox shows the SMTP breaker), are split and joined but never kept.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import quote_plus, urlencode

from markupsafe import Markup
from starlette.requests import Request
from starlette_admin.i18n import get_locale, get_timezone

from admin_app.admin.listing import POSITION_PARAMS, url_path
from admin_app.auth.permissions import grants
from admin_app.templating import csp_nonce

NONCE, CSRF, ORIGIN = "nonce", "csrf", "origin"
"""The slots the CSP nonce, the CSRF token and the page's own `_origin=` are cut into."""

SHARED_POSITIONS = tuple(name for name in POSITION_PARAMS if name != "page")
"""The keyset positions (`after`, `before`, `last`): the pages of one list share a shell,
as their shells differ only in the `_origin` parameter of the links that lead back to
them (New, and each row's view and edit). Numbered pages (`page=`) do not: starlette-
admin's own list parameters carry the number."""


def origin_param(request: Request) -> str:
    """`_origin=<this page>` as links on the page carry it, URL-encoded as starlette-admin
    does (`helpers._carry_origin`, `include_query_params`). Worked out once per request:
    the rows and the shell both need it."""
    known: str | None = request.__dict__.get(_ORIGIN_ATTR)
    if known is None:
        query = request.scope["query_string"].decode()  # as `request.url.query`
        known = urlencode({"_origin": url_path(request) + (f"?{query}" if query else "")})
        request.__dict__[_ORIGIN_ATTR] = known
    return known


_ORIGIN_ATTR = "_admin_origin_param"


class Slots:
    """Markers for the places a page shell leaves open, unique to this process."""

    def __init__(self) -> None:
        self.token = secrets.token_hex(8)

    def marker(self, name: str) -> Markup:
        return Markup(f"<!--slot-{self.token}-{name}-->")  # noqa: S704 (fixed text)

    __call__ = marker  # templates write `slot("rows")`


@dataclass(frozen=True)
class Shell:
    """A rendered page cut at its slots: text, slot name, text, …, text."""

    parts: tuple[str, ...]
    has_actions: bool
    shareable: bool = True
    """False when something position-dependent other than `_origin` is left in it: then it
    serves only its own URL's requests (it is not kept)."""
    memo: dict[str, Any] = field(default_factory=dict, compare=False)
    """What the rows of this user's page at this URL share (`RowRenderer`'s memo)."""

    @classmethod
    def cut(cls, request: Request, html: str, slots: Slots, *, has_actions: bool) -> Shell:
        for name, value in _per_request(request).items():
            if value:
                html = html.replace(value, slots.marker(name))
        shareable = "_origin=" not in html and not any(
            _mentions(html, name, at)
            for name in SHARED_POSITIONS
            if (at := request.query_params.get(name))
        )
        prefix = f"<!--slot-{slots.token}-"
        parts: list[str] = []
        for n, piece in enumerate(html.split(prefix)):
            if n == 0:
                parts.append(piece)
                continue
            name, _, text = piece.partition("-->")
            parts += [name, text]
        return cls(tuple(parts), has_actions, shareable)

    def fill(self, request: Request, values: Mapping[str, str | bytes]) -> bytes:
        """The page as UTF-8, with every slot filled (nonce, CSRF token and origin with this
        request's); a value may be given as text or already as UTF-8. The shell's text is
        encoded once, when kept: encoding a whole page that is not pure ASCII cost a
        quarter of a millisecond per request."""
        values = {**values, **_per_request(request)}
        encoded = self.encoded
        out = [encoded[0]]
        for i in range(1, len(encoded), 2):
            value = values[self.parts[i]]
            out += [value if isinstance(value, bytes) else value.encode(), encoded[i + 1]]
        return b"".join(out)

    @cached_property
    def encoded(self) -> tuple[bytes, ...]:
        """`parts` as UTF-8 (slot names included, unused)."""
        return tuple(part.encode() for part in self.parts)


def _mentions(html: str, name: str, value: str) -> bool:
    """Whether `html` still says where in the list it is (`name=value`, URL-encoded or not,
    an input of that name, or a keyset token itself)."""
    forms = [f"{name}={value}", quote_plus(f"{name}={value}"), f'name="{name}"']
    if len(value) >= 8:  # a keyset token: long enough to look for on its own
        forms.append(value)
    return any(form in html for form in forms)


def _per_request(request: Request) -> dict[str, str]:
    """Values that differ from one request (or cookie, or page of the list) to the next, as
    the page shows them: long random strings, and `_origin=` with this page's URL (the only
    origin a list page's links carry), so a replace finds nothing else."""
    return {
        NONCE: csp_nonce(),
        CSRF: str(getattr(request.state, "csrf_token", "") or ""),
        ORIGIN: origin_param(request),
    }


class ShellCache:
    """The most recently used shells, by everything a list page's shell depends on."""

    def __init__(self, limit: int = 128) -> None:
        self.limit = limit
        self.shells: OrderedDict[Hashable, Shell] = OrderedDict()

    @staticmethod
    def key(request: Request, view_key: str) -> Hashable:
        state = request.state
        allowed = grants(request)
        return (
            view_key,
            request.scope.get("scheme"),
            request.headers.get("host"),
            request.scope.get("root_path"),
            url_path(request),
            tuple(
                (name, value)
                for name, value in request.query_params.multi_items()
                if name not in SHARED_POSITIONS
            ),
            getattr(state, "admin_session_id", None),
            repr(getattr(state, "identity", None)),
            repr(getattr(state, "admin_user", None)),
            allowed.superuser,
            allowed.codes,
            repr(sorted(allowed.scopes.items())),
            get_locale(),
            get_timezone(),
        )

    def get(self, key: Hashable) -> Shell | None:
        shell = self.shells.get(key)
        if shell is not None:
            self.shells.move_to_end(key)
        return shell

    def put(self, key: Hashable, shell: Shell) -> None:
        self.shells[key] = shell
        self.shells.move_to_end(key)
        while len(self.shells) > self.limit:
            self.shells.popitem(last=False)
