"""A list page's shell, rendered once per user and URL, with its rows filled in per request.

starlette-admin's list page is a large template (layout, menu, toolbar, filter builder,
column chooser, modals, scripts): about 40% of a list request's CPU. Everything in it
but the select-all banner, the rows, the summary, the page links and the row total is
a function of who asks and what they ask for: the URL, the user and their permissions,
the locale and time zone. So `templates/admin/list.html` marks those places as slots
(`slot("rows")` …), the page is rendered once with the markers in it, split at them,
and kept; each request renders only the slots and joins.

Every list request goes through the same split and join, so the cached path is the
tested path. What is never reused:
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
from typing import Any

from markupsafe import Markup
from starlette.requests import Request
from starlette_admin.i18n import get_locale, get_timezone

from admin_app.auth.permissions import grants
from admin_app.templating import csp_nonce

NONCE, CSRF = "nonce", "csrf"
"""The slots the CSP nonce and the CSRF token are cut into."""


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
    memo: dict[str, Any] = field(default_factory=dict, compare=False)
    """What the rows of this user's page at this URL share (`RowRenderer`'s memo)."""

    @classmethod
    def cut(cls, request: Request, html: str, slots: Slots, *, has_actions: bool) -> Shell:
        for name, value in _per_request(request).items():
            if value:
                html = html.replace(value, slots.marker(name))
        prefix = f"<!--slot-{slots.token}-"
        parts: list[str] = []
        for n, piece in enumerate(html.split(prefix)):
            if n == 0:
                parts.append(piece)
                continue
            name, _, text = piece.partition("-->")
            parts += [name, text]
        return cls(tuple(parts), has_actions)

    def fill(self, request: Request, values: Mapping[str, str]) -> str:
        """The page, with every slot filled (nonce and CSRF token with this request's)."""
        values = {**values, **_per_request(request)}
        out = [self.parts[0]]
        for i in range(1, len(self.parts), 2):
            out += [values[self.parts[i]], self.parts[i + 1]]
        return "".join(out)


def _per_request(request: Request) -> dict[str, str]:
    """Values that differ from one request (or cookie) to the next, as the page shows them:
    long random strings, so a replace finds nothing else."""
    return {NONCE: csp_nonce(), CSRF: str(getattr(request.state, "csrf_token", "") or "")}


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
            request.url.path,
            request.url.query,
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
