"""ID tokens the real provider issued, checked by the app's client: audience, nonce,
signature and expiry."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from admin_app.auth.oidc import Flow, OidcClient, OidcError
from admin_app.main import create_app
from admin_app.settings import Settings
from tests.conftest import make_settings
from tests.helpers import fetch
from tests.sso.conftest import sign_in, sso_settings
from tests.sso.provider import (
    APP_CLIENT,
    OTHER_CLIENT,
    TEST_CALLBACK,
    Browser,
    Provider,
    query,
    start_provider,
)


def client_for(provider: Provider, client: dict[str, str]) -> OidcClient:
    return OidcClient(
        make_settings(
            oidc_issuer=provider.issuer,
            oidc_client_id=client["client_id"],
            oidc_client_secret=SecretStr(client["client_secret"]),
        )
    )


async def issued_token(provider: Provider, client: OidcClient, login: str) -> tuple[str, Flow]:
    """A raw ID token the provider issued to `client` for `login`, and its flow."""
    flow = Flow.start()
    url = await client.authorization_url(TEST_CALLBACK, flow)
    back = Browser(provider).authorize(url, login)
    assert query(back)["state"] == flow.state
    return await client.exchange_code(query(back)["code"], flow.verifier, TEST_CALLBACK), flow


async def test_a_token_issued_for_another_client_is_refused(provider: Provider):
    provider.accounts(jack={"email": "jack@corp.test", "groups": ["admins"]})
    other, mine = client_for(provider, OTHER_CLIENT), client_for(provider, APP_CLIENT)
    token, flow = await issued_token(provider, other, "jack")
    assert (await other.validate(token, flow.nonce)).subject == "jack", "valid for its client"
    with pytest.raises(OidcError, match="issued for another application"):
        await mine.validate(token, flow.nonce)


async def test_a_token_of_another_sign_in_or_with_a_changed_payload_is_refused(provider):
    provider.accounts(kate={"email": "kate@corp.test", "groups": ["admins"]})
    mine = client_for(provider, APP_CLIENT)
    token, flow = await issued_token(provider, mine, "kate")
    with pytest.raises(OidcError, match="does not belong to this sign-in"):
        await mine.validate(token, Flow.start().nonce)
    header, payload, signature = token.split(".")
    forged = ".".join(
        [header, payload[:-4] + ("AAAA" if payload[-4:] != "AAAA" else "BBBB"), signature]
    )
    with pytest.raises(OidcError, match="signature"):
        await mine.validate(forged, flow.nonce)


@pytest.fixture(scope="module")
def late_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    """A provider whose clock is 15 minutes behind, issuing ID tokens valid for 5: each
    one has expired 10 minutes before it reaches the app."""
    running = start_provider(
        tmp_path_factory.mktemp("late-provider"),
        [TEST_CALLBACK],
        CLOCK_OFFSET="-900",
        IDTOKEN_TTL="300",
    )
    yield running
    running.stop()


def test_an_expired_id_token_is_refused(settings: Settings, late_provider: Provider):
    late_provider.accounts(lena={"email": "lena@corp.test", "groups": ["admins"]})
    with TestClient(create_app(sso_settings(settings, late_provider))) as app:
        refused = sign_in(app, Browser(late_provider), "lena")
    assert refused.status_code == 400
    assert "it has expired" in refused.text
    assert fetch(settings, "SELECT count(*) FROM admin_user")[0][0] == 0
