"""Jinja environments: the app's own, and the nonce that lets the CSP forbid inline script.

Every `<script` written in a template (ours or starlette-admin's) is given
`nonce="{{ csp_nonce() }}"` when the template is loaded, so the Content-Security-Policy
can allow exactly the scripts the templates contain. Values rendered into a page
are escaped by autoescape, so script that arrives as data never gets a nonce.

A few lines of starlette-admin's own templates are also amended as they load
(`STOCK_FIXES`): where no block lets an override reach them, this is smaller than
copying the whole template.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable, MutableMapping
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any

import starlette_admin
from jinja2 import BaseLoader, Environment
from starlette.templating import Jinja2Templates

from admin_app import languages
from admin_app.settings import PROJECT_ROOT

STATIC_DIR = PROJECT_ROOT / "static"
TEMPLATES_DIR = PROJECT_ROOT / "templates"

INLINE_HANDLERS = {
    # starlette-admin 1.0.3 has two inline event handlers, which no nonce can allow;
    # they become data attributes that static/admin.js wires up instead.
    'onclick="applyColumnVisibility()"': 'data-app-call="applyColumnVisibility"',
    'onchange="window.location = this.value"': "data-app-navigate",
}

STOCK_TEMPLATES = Path(starlette_admin.__file__).parent / "templates"

_COLUMN_CHOICES = (
    "{% for field in all_fields %}\n"
    + " " * 52
    + '<label class="dropdown-item">\n'
    + " " * 56
    + '<input type="checkbox"\n'
    + " " * 63
    + 'class="form-check-input me-2 column-visibility-toggle"\n'
    + " " * 63
    + 'data-sa-hook="column-visibility-toggle"\n'
    + " " * 63
    + 'value="{{ field.name }}"\n'
    + " " * 63
    + "{% if list_params.visible_cols is none or field.name in list_params.visible_cols %}"
    + "checked{% endif %}>\n"
    + " " * 56
    + "{{ field.label }}\n"
    + " " * 52
    + "</label>\n"
    + " " * 48
    + "{% endfor %}"
)
"""starlette-admin 1.0.3's column chooser checkboxes, one per field of the list."""

STOCK_FIXES: dict[str, dict[str, str]] = {
    # Accessibility repairs of starlette-admin 1.0.3's templates, by file under STOCK_TEMPLATES:
    # each text must occur there (tests/test_templating.py checks that it still does).
    "layout.html": {
        # The user menu's name (an email address when the account has no name) keeps its
        # own direction on a right-to-left page: "a.b@example.com" reads as written.
        "<div>{{ current_user.username }}</div>": (
            "<div><bdi>{{ current_user.username }}</bdi></div>"
        ),
        # The page's main landmark, and the target of the skip link (templates/admin/layout.html).
        '<div class="page-wrapper">': (
            '<div class="page-wrapper" id="main-content" role="main" tabindex="-1">'
        ),
        # The palette's button (templates/admin/_palette_button.html), the theme menu
        # (templates/admin/_theme_menu.html) and the language menu (_language_menu.html)
        # before the user menu, in the top bar and in a phone's top row: both are inside
        # `{% if current_user %}`.
        '<div class="nav-item dropdown ms-3">': (
            '{% include "_palette_button.html" %}{% include "_theme_menu.html" %}'
            '{% include "_language_menu.html" %}<div class="nav-item dropdown ms-3">'
        ),
        # The top bar's user menu shows the user's name; its accessible name must contain it.
        'aria-label="Open user menu">{{ self.user_menu_trigger() }}': (
            'aria-label="{{ current_user.username }}: open user menu">'
            "{{ self.user_menu_trigger() }}"
        ),
    },
    "base.html": {
        # The script between these markers (icon and class registries, jQuery set-up) is
        # the same on every page: the admin serves it once (admin_app/admin/page_script.py).
        "{# djlint:off #}": (
            "{% if page_script_url is defined %}"
            '<script src="{{ page_script_url() }}"></script>{% else %}'
        ),
        "{# djlint:on #}": "{% endif %}",
    },
    "detail.html": {
        # The row actions' script read the record's key from the page's script; it reads it
        # from the page instead, so the script belongs to the page's kept chrome
        # (admin_app/admin/chrome.py) and the key to its per-request content.
        '"{{ obj[pk] }}"': (
            'document.querySelector("[data-app-detail-pk]").getAttribute("data-app-detail-pk")'
        ),
        "<strong>#{{ obj[pk] }}</strong>": (
            "<strong data-app-detail-pk='{{ obj[pk] }}'>#{{ obj[pk] }}</strong>"
        ),
    },
    "create.html": {
        # Each model's own "New order" ("Nouvelle commande"), not one "New %(name)s"
        # that cannot agree with the name's gender (admin_app/admin/labels.py).
        '{{ _("New %(name)s", name=view.display_name) }}': "{{ create_label(view) }}",
    },
    "list.html": {
        '{{ _("New %(name)s", name=view.display_name) }}': "{{ create_label(view) }}",
        # The row actions' column header was empty: screen readers announced nothing.
        '<th scope="col" class="w-1"></th>': (
            '<th scope="col" class="w-1">'
            '<span class="visually-hidden">{{ _("Actions") }}</span></th>'
        ),
        # starlette-admin's import dialog (button, modal, script) applies a whole file in
        # one request; the import pages (admin_app/admin/import_pages.py) replace it, and
        # the list's Import button leads there (templates/admin/list.html).
        "{% if view.can_import(request) and view.importers %}": "{% if false %}",
        # Each filterable column's header gets its filter's button; the forms they open
        # follow the table (admin_app/admin/header_filters.py, templates/admin/list.html).
        "{{ column_header(field, list_params) }}</th>": (
            '<span class="app-th">{{ column_header(field, list_params) }}'
            '{{ header_filter(request, view, field, list_params, __name__, "button") }}'
            "</span></th>"
        ),
        # The column chooser's checkboxes come with its menu (templates/admin/_column_choices.html).
        _COLUMN_CHOICES: '{% include "_column_choices.html" %}',
    },
}

_nonce: ContextVar[str] = ContextVar("csp_nonce", default="")
_SCRIPT_TAG = re.compile(r"<script(?=[\s>])", re.IGNORECASE)


def new_nonce() -> str:
    """Start a request: make and remember its nonce."""
    nonce = secrets.token_urlsafe(16)
    _nonce.set(nonce)
    return nonce


def csp_nonce() -> str:
    """The current request's nonce, for templates."""
    return _nonce.get()


_INDENT = re.compile(r"\n[ \t]+")


class NonceLoader(BaseLoader):
    """Wraps a loader; adds the request nonce to every `<script` tag in template source,
    and drops the indentation of each line of an HTML template: a fifth of a list page
    was indentation, sent and compressed on every request (no template here has a
    `<pre>` or a `<textarea>` with literal text, where it would show)."""

    def __init__(self, inner: BaseLoader) -> None:
        self.inner = inner

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        source, filename, uptodate = self.inner.get_source(environment, template)
        for handler, replacement in INLINE_HANDLERS.items():
            source = source.replace(handler, replacement)
        for text, replacement in stock_fixes(filename).items():
            source = source.replace(text, replacement)
        if template.endswith(".html"):
            source = _INDENT.sub("\n", source)
        return _SCRIPT_TAG.sub('<script nonce="{{ csp_nonce() }}"', source), filename, uptodate

    def list_templates(self) -> list[str]:
        return self.inner.list_templates()


def stock_fixes(filename: str | None) -> dict[str, str]:
    """The amendments for the template loaded from `filename` (none unless it is stock)."""
    path = Path(filename or "")
    if not path.is_relative_to(STOCK_TEMPLATES):
        return {}
    return STOCK_FIXES.get(path.relative_to(STOCK_TEMPLATES).as_posix(), {})


def add_nonces(env: Environment) -> None:
    """Make `env` nonce every script tag it loads from now on.

    Its template cache becomes a plain dict (Jinja's `cache_size=-1`): the templates are
    a fixed set of files. Jinja's default, a 400-entry LRU, moves a template to the front
    of a deque on every lookup, a scan of the deque: with each field and cell its own
    template, about a millisecond of every list page."""
    assert env.loader is not None
    env.cache = {}
    env.loader = NonceLoader(env.loader)
    env.globals["csp_nonce"] = csp_nonce
    env.globals["app_static_url"] = static_url


def share_globals(env: Environment) -> None:
    """Give templates loaded without globals of their own `env.globals` itself, not a
    `ChainMap` over it (Jinja's default).

    Jinja copies a template's globals into every context it makes, and compares their
    keys on every `{% from … import %}`: through a ChainMap of some eighty globals, that
    was a tenth of an edit form's CPU (each field is a template render). No template
    here has globals of its own; one loaded with some still gets the ChainMap."""
    stock = env.make_globals

    def make_globals(d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return env.globals if not d else stock(d)

    env.make_globals = make_globals  # type: ignore[method-assign]


@cache
def _fingerprint(path: str) -> str:
    file = STATIC_DIR / path
    return hashlib.sha256(file.read_bytes()).hexdigest()[:12] if file.is_file() else "0"


def static_url(path: str) -> str:
    """`/static/<path>?v=<content hash>`: cacheable forever, changes when the file does."""
    return f"/static/{path}?v={_fingerprint(path)}"


def fingerprint(path: str) -> str:
    """The current content hash of a file under `static/`."""
    return _fingerprint(path)


def app_templates(**globals_: Any) -> Jinja2Templates:
    """The environment for the app's own pages (`templates/`, outside `templates/admin/`)."""
    templates = Jinja2Templates(directory=TEMPLATES_DIR)
    languages.install(templates.env)
    add_nonces(templates.env)
    templates.env.globals.update(static_url=static_url, **globals_)
    return templates


def template_path(*parts: str) -> Path:
    """A path under `templates/`."""
    return TEMPLATES_DIR.joinpath(*parts)
