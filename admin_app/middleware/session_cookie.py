"""Starlette's signed session cookie, its signature checked once per cookie value.

A browser sends the same cookie on every request until the session changes, and
Starlette's `SessionMiddleware` checks its HMAC each time (a new key derivation, the
base64 and the timestamp): about 2% of a list page's CPU. Here a cookie whose signature
verified is remembered with its payload and signing time; its age is still checked
against `max_age` on every request, so it expires exactly as before. Remembering is
safe because the answer depends on the cookie's bytes alone (and the key, which does not
change while the process runs).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from itsdangerous import SignatureExpired, TimestampSigner
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp

COOKIES_KEPT = 4096
"""Verified cookie values remembered per process (about 2 MB when full, then dropped)."""


class SessionCookieMiddleware(SessionMiddleware):
    """`SessionMiddleware`, verifying each distinct cookie value once.

    `secret_keys` lists every key a cookie may be signed with, the current one last:
    cookies signed with an older key (`SECRET_KEY_FALLBACKS`) still verify, and are
    signed again with the current key when the response sets the cookie.
    """

    def __init__(self, app: ASGIApp, /, secret_keys: Sequence[str], **kwargs: Any) -> None:
        super().__init__(app, secret_key=secret_keys[-1], **kwargs)
        self.signer = RememberingSigner(TimestampSigner(list(secret_keys)))  # type: ignore[assignment]


class RememberingSigner:
    """A `TimestampSigner` that remembers the signed values that verified."""

    def __init__(self, signer: TimestampSigner) -> None:
        self.signer = signer
        self.verified: dict[bytes, tuple[bytes, int]] = {}

    def sign(self, value: str | bytes) -> bytes:
        return self.signer.sign(value)

    def unsign(self, signed_value: bytes, max_age: int | None = None) -> bytes:
        """As `TimestampSigner.unsign`: `BadSignature` for a forged or malformed value,
        `SignatureExpired` for one older than `max_age` seconds (or from the future)."""
        known = self.verified.get(signed_value)
        if known is None:
            value, signed_at = self.signer.unsign(signed_value, return_timestamp=True)
            known = value, int(signed_at.timestamp())
            if len(self.verified) >= COOKIES_KEPT:
                self.verified.clear()
            self.verified[signed_value] = known
        value, timestamp = known
        if max_age is not None:
            age = self.signer.get_timestamp() - timestamp
            if age > max_age or age < 0:
                raise SignatureExpired(f"Signature age {age} outside 0 to {max_age} seconds")
        return value
