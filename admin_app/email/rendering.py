"""Email templates: Jinja2 files in `templates/email/`, an HTML body and a plain-text one.

Each message kind `NAME` has `NAME.html` (autoescaped, extends `_base.html`) and
`NAME.txt` (extends `_base.txt`); the text template's `subject` block is the subject.
A missing variable is an error, not an empty string, so a broken template never
sends a half-empty email.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from babel.support import NullTranslations
from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    select_autoescape,
)

from admin_app.templating import TEMPLATES_DIR

EMAIL_TEMPLATES = TEMPLATES_DIR / "email"


class UnknownEmailError(LookupError):
    """No templates exist for that message kind."""


@dataclass(frozen=True)
class Rendered:
    """A message ready for the outbox."""

    subject: str
    text: str
    html: str


@cache
def environment() -> Environment:
    """The email template environment: HTML autoescaped, plain text not.

    Emails are in English: the outbox does not yet know the language of whoever reads
    them (a message sent during a request is often for someone else). Their strings are
    marked (`_()`) so that knowing it is all a translated email would take."""
    env = Environment(
        loader=FileSystemLoader(EMAIL_TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
    )
    english = NullTranslations()
    env.install_gettext_callables(english.gettext, english.ngettext, newstyle=True)  # type: ignore[attr-defined]
    return env


def kinds() -> list[str]:
    """Every message kind that has both templates."""
    names = {p.stem for p in EMAIL_TEMPLATES.glob("*.txt") if not p.name.startswith("_")}
    return sorted(n for n in names if (EMAIL_TEMPLATES / f"{n}.html").is_file())


def render(kind: str, context: dict[str, Any]) -> Rendered:
    """Render the subject, text and HTML of message `kind` with `context`."""
    env = environment()
    try:
        text_template = env.get_template(f"{kind}.txt")
        html_template = env.get_template(f"{kind}.html")
    except TemplateNotFound:
        raise UnknownEmailError(f"no email called {kind!r}; known: {', '.join(kinds())}") from None
    subject_block = text_template.blocks.get("subject")
    if subject_block is None:
        raise UnknownEmailError(f"templates/email/{kind}.txt has no subject block")
    subject = "".join(subject_block(text_template.new_context(dict(context))))
    return Rendered(
        subject=re.sub(r"\s+", " ", subject).strip(),
        text=_tidy(text_template.render(context)),
        html=html_template.render(context),
    )


def _tidy(text: str) -> str:
    """At most one blank line in a row, as template blocks tend to leave more."""
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
