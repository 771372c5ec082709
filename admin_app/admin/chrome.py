"""A page's chrome, rendered once per view and viewer; its URL-dependent blocks, per request.

starlette-admin's pages are large templates: layout, menu, toolbar, modals, scripts. On a
list page rendering all of it was about 40% of a request's CPU, two thirds of a detail
page's, yet nothing outside the page's `content` block (and, on a record's pages, its
title and messages) depends on the URL: only on who asks (their account, session and
permissions), the view, the locale, the time zone and where the admin is served from.
So the page is rendered once per such key with its `content` block (and any other named
block) replaced by a marker, split at the markers and kept as a `Chrome`; each request
renders only those blocks, with the block functions the first render resolved (so
`super()` and the template's top-level names work as in a full render), and joins.

What varies inside the chrome per request is cut out like a block: the CSP nonce, the
CSRF token and this page's `_origin=` link parameter; a caller may add its own slots
(`slot("total")`). A page that shows flash messages is never kept (they show once). The
key is everything the chrome's output depends on; tests render every view's page both
ways and compare.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Generic, TypeVar, cast
from urllib.parse import urlencode
from weakref import WeakKeyDictionary

from jinja2 import Environment, Template, nodes
from jinja2.runtime import Context
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette_admin.i18n import get_locale, get_timezone

from admin_app.admin import compat
from admin_app.admin.relations import in_frame
from admin_app.admin.theme import theme_of
from admin_app.auth.permissions import grants
from admin_app.templating import csp_nonce

NONCE, CSRF, ORIGIN = "nonce", "csrf", "origin"
"""The slots the CSP nonce, the CSRF token and the page's own `_origin=` are cut into."""

BlockFunction = Callable[[Context], Iterator[str]]
T = TypeVar("T")


def url_path(request: Request) -> str:
    """`request.url.path`, without building the whole URL (Starlette's escapes)."""
    path: str = request.scope["path"]
    return path.replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")


def origin_param(request: Request) -> str:
    """`_origin=<this page>` as links on the page carry it, URL-encoded as starlette-admin
    does (`include_query_params`). Worked out once per request."""
    known: str | None = request.__dict__.get(_ORIGIN_ATTR)
    if known is None:
        query = request.scope["query_string"].decode()  # as `request.url.query`
        known = urlencode({compat.ORIGIN_PARAM: url_path(request) + (f"?{query}" if query else "")})
        request.__dict__[_ORIGIN_ATTR] = known
    return known


_ORIGIN_ATTR = "_admin_origin_param"


class Slots:
    """Markers for the places a chrome leaves open, unique to this process."""

    def __init__(self) -> None:
        self.token = secrets.token_hex(8)

    def marker(self, name: str) -> Markup:
        return Markup(f"<!--slot-{self.token}-{name}-->")  # noqa: S704 (fixed text)

    __call__ = marker  # templates write `slot("total")`


@dataclass
class Chrome:
    """A rendered page cut at its slots (text, slot name, text, …), and what rendering the
    open blocks again needs: the template and its resolved block functions."""

    parts: tuple[str, ...]
    template: Template
    blocks: dict[str, list[BlockFunction]]
    memo: dict[str, Any] = field(default_factory=dict)
    """What the requests served by this chrome share (row actions, column plans)."""
    kept: bool = False
    """Whether the chrome is kept for other requests (else it serves only this one)."""

    def block(self, name: str, context: Mapping[str, Any]) -> str:
        """Block `name` rendered for this request's `context`."""
        return self.render_blocks((name,), context)[name]

    def render_blocks(self, names: tuple[str, ...], context: Mapping[str, Any]) -> dict[str, str]:
        """Blocks `names` rendered for this request's `context`, in one context.

        The template's top-level statements run first: they import macros `with
        context` (bound to this request: a filter's Reset link is built from its URL)
        and set names the blocks read. They run as the template's `prelude`, without
        the rest of the page; a template whose top level the prelude cannot hold runs
        its whole root, every block empty."""
        ctx = self.template.new_context(dict(context))
        prelude = top_level(self.template)
        if prelude is None:
            ctx.blocks = {key: [_empty] for key in self.blocks}
            for _ in self.template.root_render_func(ctx):
                pass
        else:
            for _ in prelude.root_render_func(ctx):
                pass
        ctx.blocks = {key: list(chain) for key, chain in self.blocks.items()}
        return {name: "".join(ctx.blocks[name][0](ctx)) for name in names}

    def fill(self, request: Request, values: Mapping[str, str | bytes]) -> bytes:
        """The page as UTF-8, each slot filled; nonce, CSRF token and origin with this
        request's. The chrome's text is encoded once."""
        values = {**values, **_per_request(request)}
        encoded = self.encoded
        out = [encoded[0]]
        for i in range(1, len(encoded), 2):
            value = values[self.parts[i]]
            out += [value if isinstance(value, bytes) else value.encode(), encoded[i + 1]]
        return b"".join(out)

    @cached_property
    def encoded(self) -> tuple[bytes, ...]:
        return tuple(part.encode() for part in self.parts)


def _empty(context: Context) -> Iterator[str]:
    yield from ()


def render_chrome(
    request: Request,
    template: Template,
    context: Mapping[str, Any],
    slots: Slots,
    open_blocks: tuple[str, ...] = ("content",),
    stand_ins: Mapping[str, str] | None = None,
) -> Chrome:
    """`template` rendered with each of `open_blocks` left as a slot of its name (and
    each of `stand_ins`, as `cut` says)."""
    ctx = template.new_context(dict(context))

    def marker(name: str) -> BlockFunction:
        def render(_: Context) -> Iterator[str]:
            yield slots.marker(name)

        return render

    for name in open_blocks:
        ctx.blocks.setdefault(name, []).insert(0, marker(name))
    html = "".join(template.root_render_func(ctx))
    blocks = {
        name: chain[1:] if name in open_blocks else chain for name, chain in ctx.blocks.items()
    }
    return Chrome(cut(request, html, slots, stand_ins), template, blocks)


def cut(
    request: Request, html: str, slots: Slots, stand_ins: Mapping[str, str] | None = None
) -> tuple[str, ...]:
    """`html` split at its slot markers (text, name, text, …), with this request's
    nonce, CSRF token and origin made slots too, and then each of `stand_ins` (slot
    name: the unique text the page was rendered with in its place)."""
    for name, value in (*_per_request(request).items(), *(stand_ins or {}).items()):
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
    return tuple(parts)


def join(request: Request, parts: tuple[str, ...], values: Mapping[str, str]) -> str:
    """`parts` (from `cut`) with every slot filled."""
    values = {**values, **_per_request(request)}
    out = [parts[0]]
    for i in range(1, len(parts), 2):
        out += [values[parts[i]], parts[i + 1]]
    return "".join(out)


def _per_request(request: Request) -> dict[str, str]:
    """Values that differ from one request (or cookie, or URL) to the next, as the page
    shows them: long random strings, and `_origin=` with this page's URL."""
    return {
        NONCE: csp_nonce(),
        CSRF: str(getattr(request.state, "csrf_token", "") or ""),
        ORIGIN: origin_param(request),
    }


STATEMENTS = (
    nodes.Assign,
    nodes.AssignBlock,
    nodes.Import,
    nodes.FromImport,
    nodes.Macro,
    nodes.ExprStmt,
)
"""Top-level statements that leave names behind for the blocks to read."""

_preludes: WeakKeyDictionary[Environment, dict[str, Template | None]] = WeakKeyDictionary()


def top_level(template: Template) -> Template | None:
    """The top-level statements of `template` and the templates it extends, in the order
    a render runs them, as a template of their own (None: run the template's root).

    A page's root renders the whole layout around its blocks; the blocks need only the
    names its statements leave (`{% import … with context %}`, `{% set %}`), so running
    those alone is a fraction of the work. Worked out once per template name."""
    env, name = template.environment, template.name
    if name is None:
        return None
    known = _preludes.setdefault(env, {})
    if name not in known:
        known[name] = _prelude(env, name)
    return known[name]


def _prelude(env: Environment, name: str) -> Template | None:
    body: list[nodes.Node] = []
    parent: str | None = name
    while parent is not None:
        assert env.loader is not None
        source, filename, _ = env.loader.get_source(env, parent)
        tree = env.parse(source, parent, filename)
        parent = None
        for node in tree.body:
            if isinstance(node, nodes.Extends):
                if not isinstance(node.template, nodes.Const):
                    return None  # a parent chosen at render time
                parent = node.template.value
            elif isinstance(node, nodes.Block):
                continue  # rendered from the chrome's blocks, never by the prelude
            elif _leaves_names(node):
                if any(True for _ in node.find_all(nodes.Block)):
                    return None  # a block inside a statement: the root decides
                body.append(node)
    return env.from_string(nodes.Template(body, lineno=1))


def _leaves_names(node: nodes.Node) -> bool:
    return isinstance(node, STATEMENTS) or any(True for _ in node.find_all(STATEMENTS))


class ChromeCache(Generic[T]):
    """The most recently used chromes (or other rendered parts), by everything they
    depend on."""

    def __init__(self, limit: int = 256) -> None:
        self.limit = limit
        self.kept: OrderedDict[Hashable, T] = OrderedDict()

    @staticmethod
    def key(request: Request, template: str, view_key: str, url: Hashable = None) -> Hashable:
        """Template, view, viewer (session, account, permissions, colour theme), locale,
        time zone, where the admin is served from, whether the page is framed; `url`,
        what of the URL the chrome shows."""
        state = request.state
        return (
            ChromeCache.audience(request, template, view_key, url),
            getattr(state, "admin_session_id", None),
            repr(getattr(state, "identity", None)),
            repr(getattr(state, "admin_user", None)),
        )

    @staticmethod
    def audience(request: Request, template: str, view_key: str, url: Hashable = None) -> Hashable:
        """`key` without who the viewer is: what a part that shows no one's name, session
        or account depends on (a list's `content` block). Viewers with the same
        permissions, theme, locale and time zone share it."""
        allowed = grants(request)
        return (
            template,
            view_key,
            url,
            request.scope.get("scheme"),
            request.headers.get("host"),
            request.scope.get("root_path"),
            allowed.superuser,
            allowed.codes,
            repr(sorted(allowed.scopes.items())),
            theme_of(request),  # also in the identity; said here, as the page shows it
            in_frame(request),  # no menu or header in a frame
            get_locale(),
            get_timezone(),
        )

    def get(self, key: Hashable) -> T | None:
        kept = self.kept.get(key)
        if kept is not None:
            self.kept.move_to_end(key)
        return kept

    def put(self, key: Hashable, value: T) -> None:
        self.kept[key] = value
        self.kept.move_to_end(key)
        while len(self.kept) > self.limit:
            self.kept.popitem(last=False)


RECORD_BLOCKS = ("title", "flash_messages", "content")
"""The blocks of a detail, edit or create page rendered per request; the rest is chrome."""

KEPT_TEMPLATES = frozenset({"detail.html", "edit.html", "create.html"})
"""Record-page templates whose chrome is kept; a view's own template may show other
changing state, so its chrome serves only its own request."""


class RecordChromes:
    """Detail, edit and create pages: the chrome kept per `ChromeCache.key` and the URL
    without the record's `pk` and `_origin`, rendered from a copy of the request without
    them and with none of the record's variables in reach; `RECORD_BLOCKS` rendered per
    request.

    `_origin` (the page a record was opened from) decides only where the header's link
    to the list leads (`breadcrumb_list_url`): the chrome is rendered with a stand-in
    origin and that link is a slot (`BACK`), so a record opened from any page of any
    list is served by one chrome. Kept per origin, as it was, nearly every click from a
    list rendered the whole page again."""

    def __init__(self, env: Environment, slots: Slots, limit: int = 256) -> None:
        self.env = env
        self.slots = slots
        self.cache: ChromeCache[Chrome] = ChromeCache(limit)

    def key(self, request: Request, name: str, view_key: str) -> Hashable:
        """The chrome's key: `ChromeCache.key` and the query without `pk` and `_origin`."""
        query = tuple((k, v) for k, v in request.query_params.multi_items() if k not in _PER_RECORD)
        return self.cache.key(request, name, view_key, url=(url_path(request), query))

    def render(
        self,
        request: Request,
        view_key: str,
        name: str,
        *,
        chrome: Mapping[str, Any],
        record: Mapping[str, Any],
    ) -> bytes:
        """The page as UTF-8: `chrome` is what the whole page may use (the view, its
        title, widget assets), `record` what only the per-request blocks may."""
        key = self.key(request, name, view_key)
        page = self.cache.get(key)
        if page is None:
            query = [(k, v) for k, v in request.query_params.multi_items() if k not in _PER_RECORD]
            query.append((compat.ORIGIN_PARAM, self._stand_in_origin(request, view_key)))
            scope = {**request.scope, "query_string": urlencode(query).encode()}
            stand_in = Request(scope, request.receive)
            context = {**chrome, "request": stand_in}
            template = self.env.get_template(name)
            back = {BACK: self._back(stand_in, view_key)}
            page = render_chrome(request, template, context, self.slots, RECORD_BLOCKS, back)
            if name in KEPT_TEMPLATES:
                self.cache.put(key, page)
        context = {**chrome, **record, "request": request}
        values = page.render_blocks(RECORD_BLOCKS, context)
        return page.fill(request, values | {BACK: self._back(request, view_key)})

    def _back(self, request: Request, view_key: str) -> str:
        """The header's link to the list, as the template writes it (escaped)."""
        link = cast(Callable[[Request, str], str], self.env.globals["breadcrumb_list_url"])
        return str(escape(link(request, view_key)))

    def _stand_in_origin(self, request: Request, view_key: str) -> str:
        """An `_origin` on the view's own list (which the header's link follows), unique
        to this process, so the link it makes is found and cut out of the chrome."""
        route_name = request.app.state.ROUTE_NAME
        path = request.url_for(f"{route_name}:list", key=view_key).path
        return f"{path}?{BACK}={self.slots.token}"


BACK = "back"
"""The slot of a record page's link to the list it came from."""

_PER_RECORD = frozenset({"pk", compat.ORIGIN_PARAM})
"""Query parameters a record page's chrome does not depend on (`RecordChromes`)."""
