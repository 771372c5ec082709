"""Read-your-writes: after a successful write a browser reads from the primary for a while.

Remembered in a cookie of its own, signed with `SECRET_KEY` and stamped with the time
of the write (itsdangerous' `TimestampSigner`), rather than in the server-side session:

- every app process and pod reads it without a database round trip, and a read-only
  request needs to know before it reads anything where to read;
- writing it costs no UPDATE of the session row on every save;
- it works before login and after logout, and for any write, not only a signed-in one.

Signed so that a client cannot keep itself on the primary with a forged far-future
value: the server checks the age of the stamp, not the cookie's `Max-Age`. A stolen or
replayed cookie achieves nothing but a few seconds of reading from the primary.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from http.cookies import SimpleCookie

from itsdangerous import BadSignature, TimestampSigner
from starlette.requests import cookie_parser
from starlette.types import Scope

COOKIE = "admin_wrote"
SALT = "admin_app.replicas.sticky"


class StickyReads:
    """Issues and checks the read-your-writes cookie for `seconds` after each write."""

    def __init__(self, secret_keys: Sequence[str], seconds: float, *, secure: bool) -> None:
        self.signer = TimestampSigner(list(secret_keys), salt=SALT)
        self.seconds = seconds
        self.secure = secure

    def set_cookie_header(self) -> bytes:
        """The `Set-Cookie` value that keeps this browser on the primary from now on."""
        cookie = SimpleCookie()
        cookie[COOKIE] = self.signer.sign("1").decode()
        morsel = cookie[COOKIE]
        morsel["max-age"] = max(1, math.ceil(self.seconds))
        morsel["path"] = "/"
        morsel["httponly"] = True
        morsel["samesite"] = "lax"
        if self.secure:
            morsel["secure"] = True
        return morsel.OutputString().encode("latin-1")

    def wrote_recently(self, scope: Scope) -> bool:
        """Whether the request carries a cookie of a write less than `seconds` ago."""
        value = _cookie(scope, COOKIE)
        if not value or self.seconds <= 0:
            return False
        try:
            self.signer.unsign(value, max_age=math.ceil(self.seconds))
        except BadSignature:  # forged, from another key, or expired
            return False
        return True


def _cookie(scope: Scope, name: str) -> str | None:
    """The cookie `name`, read as Starlette reads cookies (forgiving of malformed ones)."""
    for key, value in scope["headers"]:
        if key == b"cookie" and name.encode() in value:
            found = cookie_parser(value.decode("latin-1")).get(name)
            if found:
                return found
    return None
