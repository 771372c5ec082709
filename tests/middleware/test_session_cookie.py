"""The session cookie's signature is checked once per value; its age on every request."""

from __future__ import annotations

import pytest
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner

from admin_app.middleware.session_cookie import RememberingSigner


class Clock(TimestampSigner):
    """A signer whose clock the test sets: a cookie's age cannot be waited for here."""

    def __init__(self, secret: str) -> None:
        super().__init__(secret)
        self.now = 1_800_000_000

    def get_timestamp(self) -> int:
        return self.now


def test_a_remembered_cookie_still_expires():
    signer = Clock("secret")
    remembering = RememberingSigner(signer)
    cookie = signer.sign(b"payload")
    assert remembering.unsign(cookie, max_age=60) == b"payload"
    signer.now += 30
    assert remembering.unsign(cookie, max_age=60) == b"payload"
    signer.now += 31
    with pytest.raises(SignatureExpired):
        remembering.unsign(cookie, max_age=60)
    signer.now -= 1_000  # signed "in the future": refused as itsdangerous refuses it
    with pytest.raises(SignatureExpired):
        remembering.unsign(cookie, max_age=60)


def test_a_forged_cookie_is_refused_every_time():
    signer = Clock("secret")
    remembering = RememberingSigner(signer)
    good = signer.sign(b"payload")
    assert remembering.unsign(good, max_age=60) == b"payload"
    forged = Clock("another secret").sign(b"payload")
    for _ in range(2):
        with pytest.raises(BadSignature):
            remembering.unsign(forged, max_age=60)
    assert forged not in remembering.verified


def test_a_forged_session_cookie_logs_nobody_in(client):
    """End to end: the admin's session cookie, forged, leads to the login page."""
    client.cookies.set("admin_session", Clock("not the app's secret").sign(b"e30=").decode())
    response = client.get("/admin/customer/list", follow_redirects=False)
    assert response.status_code == 303 and "/admin/login" in response.headers["location"]
