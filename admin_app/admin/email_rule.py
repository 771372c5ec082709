"""The email address rule of forms and imports: starlette-admin's `email()` validator,
with a quick path for plain addresses.

`email-validator` checks each address through Unicode normalisation and IDNA, which
costs about 40 µs: a quarter of a whole import's validation. Most addresses are plain
ASCII (`ann.lee+shop@mail.example.com`), and for those a regular expression and a
few length checks give the same answer. So an address is accepted at once when it is
plainly valid, and everything else (refused or merely unusual: quoted, international,
Punycode, special-use domains) goes to the full validator. The quick path only ever
accepts, and only what the full validator accepts (a property test checks this), so
the rule stays exactly the library's.
"""

from __future__ import annotations

import re
from typing import Any

import email_validator
from starlette.requests import Request
from starlette_admin import validators
from starlette_admin.fields import BaseField

_LOCAL = r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
PLAIN = re.compile(rf"({_LOCAL})@((?:{_LABEL}\.)+[A-Za-z]{{2,63}})")
"""A dot-atom local part and a dotted host name ending in letters, ASCII only."""

_RESERVED_LABEL = re.compile(r"^..--", re.MULTILINE)
"""`ab--` at a label's start: Punycode, or an R-LDH label the library refuses."""


def plainly_valid(value: str) -> bool:
    """Whether `value` is a plain address the full validator is sure to accept."""
    match = PLAIN.fullmatch(value)
    if match is None or len(value) > 254:
        return False
    local, domain = match.groups()
    if len(local) > 64 or len(domain) > 253:
        return False
    host = domain.lower()
    if _RESERVED_LABEL.search(host.replace(".", "\n")):
        return False
    return not any(
        host == name or host.endswith("." + name)
        for name in email_validator.SPECIAL_USE_DOMAIN_NAMES
    )


def email_address(message: str | None = None) -> validators.Validator:
    """starlette-admin's `email()` validator, answering plain addresses without it."""
    full = validators.email(message)

    def validate(request: Request, field: BaseField, value: Any, form: dict[str, Any]) -> None:
        if isinstance(value, str) and plainly_valid(value):
            return
        full(request, field, value, form)

    return validate
