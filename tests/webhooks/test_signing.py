"""The signature receivers check: the docs' own `verify_webhook` accepts what the app signs,
and refuses a changed body, another secret, and a timestamp older than five minutes."""

from __future__ import annotations

import json
import time

from hypothesis import given
from hypothesis import strategies as st

from admin_app.webhooks.signing import headers, new_secret
from tests.webhooks.receiver import verifier

VERIFY = verifier()


def lowered(sent: dict[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in sent.items()}


@given(body=st.binary(max_size=2000), event=st.text(min_size=1, max_size=40))
def test_the_documented_snippet_accepts_what_the_app_signs(body: bytes, event: str) -> None:
    secret, now = new_secret(), int(time.time())
    sent = lowered(headers(secret, event, now, body))
    assert VERIFY(secret, sent, body), "a genuine delivery must verify"
    assert not VERIFY(secret, sent, body + b" "), "a changed body must not verify"
    assert not VERIFY(new_secret(), sent, body), "another endpoint's secret must not verify"


def test_the_documented_snippet_refuses_replays_older_than_five_minutes() -> None:
    secret, body = new_secret(), json.dumps({"id": "evt_1"}).encode()
    signed_at = int(time.time())
    sent = lowered(headers(secret, "evt_1", signed_at, body))
    assert VERIFY(secret, sent, body, now=signed_at + 299)
    assert not VERIFY(secret, sent, body, now=signed_at + 301), "a replay after 5 min passes"
    assert not VERIFY(secret, sent, body, now=signed_at - 301), "a far-future stamp passes"
    forged = {**sent, "webhook-timestamp": str(signed_at + 600)}
    assert not VERIFY(secret, forged, body, now=signed_at + 600), "a re-stamped replay passes"


def test_headers_name_the_event_and_the_scheme() -> None:
    sent = headers("whsec_x", "evt_abc", 1_700_000_000, b"{}")
    assert sent["Webhook-Id"] == "evt_abc"
    assert sent["Webhook-Timestamp"] == "1700000000"
    assert sent["Webhook-Signature"].startswith("v1=") and len(sent["Webhook-Signature"]) == 67
    assert new_secret().startswith("whsec_") and new_secret() != new_secret()
