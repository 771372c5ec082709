"""Page chrome rendered once per view, user and locale; each request renders only its own parts.

A page of the admin is mostly chrome: the layout, side menu, top bar, toolbars, modals
and script tags, about two thirds of a detail page's CPU. The chrome is a function of
who asks and what they ask for: the view, the page's URL (minus the record's key), the
user, their session and permissions (`Grants`: a role edit changes them), the locale,
time zone, scheme, host and root path. `ShellCache.key` is all of these. A page is
rendered once with markers where its per-request parts go, cut at them (`Shell.cut`),
kept, and joined with this request's parts (`Shell.fill`). The CSP nonce, the CSRF
token and the page's own `_origin=` are cut out of every shell and filled per request.

Two ways of naming the per-request parts:
- list pages: `templates/admin/list.html` writes `slot("rows")` … and
  `admin_app.admin.list_routes` fills them (see there);
- detail, edit and create pages (`BlockPages`): the template's own Jinja blocks,
  `title`, `flash_messages` and `content`. The chrome is rendered without the record:
  from a copy of the request whose query has no `pk`, with none of the record's
  variables in its context, so nothing of the record can stick to it. Each request
  then renders those three blocks alone, with the record.

Every page goes through the same cut and fill, so the kept path is the tested path.
Not kept: a list page that shows flash messages, a page with its own template (it may
show other changing state: the email outbox shows the SMTP breaker), and a shell that
still mentions the page's position in its list.
"""

from __future__ import annotations

import re
import secrets
from collections import OrderedDict
from collections.abc import Callable, Collection, Hashable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import quote_plus, urlencode

from jinja2 import Environment, Template
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
    def cut(
        cls, request: Request, html: str, slots: Slots, *, has_actions: bool, compact: bool = False
    ) -> Shell:
        """`html` cut at its slots. With `compact`, the indentation of the templates is
        dropped (`compacted`)."""
        if compact:
            html = compacted(html)
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


_INDENT = re.compile(r"\n[ \t\r\n]+")
_KEEPS_SPACES = re.compile(r"<(?:pre|textarea)[\s>]", re.IGNORECASE)


def compacted(html: str) -> str:
    """`html` without the indentation of its templates: each line break followed by
    blanks becomes one line break. Nothing a browser shows changes (a line break is white
    space in HTML as any run of blanks is, and scripts keep their line ends), unless the
    page holds text that keeps its spaces (`<pre>`, `<textarea>`): that page is left as
    it is. The indentation was half of a detail page's 38 kB."""
    if _KEEPS_SPACES.search(html):
        return html
    return _INDENT.sub("\n", html)


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
    def key(
        request: Request, view_key: str, ignore: Collection[str] = SHARED_POSITIONS
    ) -> Hashable:
        """Everything a shell depends on; `ignore` names the query parameters that the
        shell leaves out (a list's position, a record's `pk`)."""
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
                if name not in ignore
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


PAGE_BLOCKS = ("title", "flash_messages", "content")
"""The blocks of a detail, edit or create page rendered per request; the rest is chrome."""

KEPT_TEMPLATES = frozenset({"detail.html", "edit.html", "create.html"})
"""Page templates whose chrome is kept; a view's own template is cut and filled, not kept."""

BlockFunction = Callable[[Any], Iterator[str]]


class BlockPages:
    """Detail, edit and create pages: the chrome kept per `ShellCache.key` (without the
    record's `pk`), the `PAGE_BLOCKS` rendered per request.

    `render(request, view_key, template, chrome=..., record=...)`: `chrome` holds what
    the whole page may use (the view, its title, widget assets); `record` what only the
    per-request blocks may use (the record, its form, flash messages). Those blocks also
    see the template's top-level assignments (`{% set pk = view.pk_attr %}`), as taken
    when the chrome was rendered."""

    def __init__(self, env: Environment, limit: int = 256) -> None:
        self.env = env
        self.slots = Slots()
        self.shells = ShellCache(limit)

    def render(
        self,
        request: Request,
        view_key: str,
        template_name: str,
        *,
        chrome: Mapping[str, Any],
        record: Mapping[str, Any],
    ) -> bytes:
        """The page as UTF-8."""
        template = self.env.get_template(template_name)
        key = self.shells.key(request, f"{view_key}:{template_name}", ignore=("pk",))
        shell = self.shells.get(key)
        if shell is None:
            shell = self._cut(request, template, chrome)
            if shell.shareable and template_name in KEPT_TEMPLATES:
                self.shells.put(key, shell)
        context = template.new_context(
            {**chrome, **shell.memo["assigned"], **record, "request": request}
        )
        context.blocks = shell.memo["blocks"]
        parts = {name: self.env.concat(context.blocks[name][0](context)) for name in PAGE_BLOCKS}
        return shell.fill(request, parts)

    def _cut(self, request: Request, template: Template, chrome: Mapping[str, Any]) -> Shell:
        """The page without the record: rendered from `request` without its `pk`, with
        markers for `PAGE_BLOCKS`."""
        without_pk = Request(
            {**request.scope, "query_string": _drop_query(request, "pk")}, request.receive
        )
        context = template.new_context({**chrome, "request": without_pk})
        markers = {name: self._marker_block(name) for name in PAGE_BLOCKS}
        for name, marker in markers.items():
            context.blocks.setdefault(name, []).insert(0, marker)
        html = self.env.concat(template.root_render_func(context))
        shell = Shell.cut(request, html, self.slots, has_actions=False, compact=True)
        shell.memo["blocks"] = {
            name: [block for block in stack if block is not markers.get(name)]
            for name, stack in context.blocks.items()
        }
        shell.memo["assigned"] = dict(context.vars)
        return shell

    def _marker_block(self, name: str) -> BlockFunction:
        marker = str(self.slots.marker(name))

        def block(context: Any) -> Iterator[str]:
            yield marker

        return block


def _drop_query(request: Request, name: str) -> bytes:
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != name]
    return urlencode(kept).encode()
